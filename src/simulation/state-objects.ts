/**
 * @module The logic of the gateway's objects as the simulation runs it: the real pure modules (token-bucket
 * ledger, circuit breaker, outlier ejection, per-minute sums, the tier's RegionHub with its lease pools and report aggregates) with
 * the simulation's clock, without the runtime's storage. `SimServiceState.sync` follows
 * durable-objects/service-state.ts step for step (in-flight and latency figures aside, which the simulation does
 * not measure); `SimRegistry` keeps only the registry's version number.
 */
import { CircuitBreakerMachine, newBreakerData } from '../state/machines/breaker-machine.ts';
import { OutlierDetector } from '../state/machines/outlier-ejection.ts';
import type { ServiceSnapshot, SyncReport } from '../state/protocol/service-state-protocol.ts';
import { addMinuteSums, isCompatible, type MinuteSums } from '../observability/traffic-sums.ts';
import { RegionHub } from '../state/machines/region-hub.ts';
import { TokenBucketLedger } from '../state/machines/token-bucket.ts';

export class SimServiceState {
  readonly breaker = new CircuitBreakerMachine(newBreakerData(0));
  readonly outliers = new OutlierDetector({});
  /** When the breaker first opened (ms), if it did. */
  openedAt: number | undefined;
  /** Requests the object has counted through the v2 traffic sums (exactly once each, by batch number). */
  countedRequests = 0;
  readonly #applied = new Map<string, number>();
  readonly #minutes: MinuteSums = {};

  sync(report: SyncReport, now: number): ServiceSnapshot {
    const { policy } = report;
    if (policy.breaker) {
      for (const event of this.breaker.record(now, policy.breaker, report.service)) if (event.to === 'open') this.openedAt ??= event.at;
    }
    for (const [instance, batch] of Object.entries(report.instances)) {
      if (batch.calls > 0 && policy.instances.includes(instance)) this.outliers.record(now, policy.ejection, policy.instances, instance, batch);
    }
    this.outliers.advance(now, policy.ejection, policy.instances);
    this.breaker.advance(now);
    const applied = this.#applied.get(report.isolateId) ?? 0;
    let acked = applied;
    for (const batch of report.traffic ?? []) {
      if (batch.seq <= applied) continue;
      acked = Math.max(acked, batch.seq);
      for (const sums of Object.values(batch.minutes)) if (isCompatible(sums)) for (const n of Object.values(sums.requests)) this.countedRequests += n;
      addMinuteSums(this.#minutes, batch.minutes);
    }
    this.#applied.set(report.isolateId, acked);
    const ejected: Record<string, number> = {};
    for (const instance of this.outliers.ejected(now)) ejected[instance] = this.outliers.data[instance]!.ejectedUntil;
    const { state, openUntil } = this.breaker.data;
    return { at: now, breaker: { state, openUntil }, ejected, inFlight: {}, rttMs: {}, trafficAckedSeq: acked };
  }
}

export class SimRegistry {
  version = 1;
}

/**
 * A region's exchange object (`_all@<hint>#<shard>`): the same RegionHub durable-objects/service-region.ts runs for
 * the simulated services, and for the services simulated in aggregate which of them wait for a global sync.
 */
export class SimHub {
  readonly hub: RegionHub;
  /** Per aggregate service: a report arrived since the region's last global sync of it, and when that was. */
  readonly pending: Uint8Array;
  readonly lastGlobalSyncAt: Float64Array;

  constructor(name: string, services: number) {
    this.hub = new RegionHub(name);
    this.pending = new Uint8Array(services);
    this.lastGlobalSyncAt = new Float64Array(services).fill(Number.NEGATIVE_INFINITY);
  }
}

/** A region's copy of the registry (the `registry@<hint>` object). */
export class SimRegionConfig {
  version = 0;
  /** When the copy was last confirmed against the registry. */
  checkedAt = Number.NEGATIVE_INFINITY;
  polling = false;
}

export { TokenBucketLedger };
