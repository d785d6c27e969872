/**
 * @module The location tier's side of service-state sync: a regional object takes its isolates' reports, adds
 * them up (outcomes, per-instance batches, the per-minute traffic sums of protocol v2) and reports the sum to the
 * service's global object as one isolate would, about once per sync interval. Isolates get the global snapshot
 * the region last received. The global object's load then grows with regions, not isolates.
 */
import type { OutcomeBatch } from './breaker-machine.ts';
import { emptyBatch, mergeBatches } from '../clients/service-state-client.ts';
import { SYNC_PROTOCOL_VERSION, type InstanceReport, type ServiceSnapshot, type ServiceStatePolicy, type SyncReport, type TrafficBatch } from '../protocol/service-state-protocol.ts';
import { addMinuteSums, isCompatible, type MinuteSums } from '../../observability/traffic-sums.ts';
import type { TraceRecord } from '../../observability/trace-sampling.ts';

/** An isolate that has not reported for this long no longer counts towards the region's in-flight sums. */
const ISOLATE_STALE_MS = 10_000;
const ISOLATE_FORGOTTEN_MS = 60 * 60_000;
/** Unacknowledged batches to the global object kept apart; beyond, the oldest are merged (as an isolate does). */
const UNACKED_BATCHES_KEPT = 30;
/** Traces carried up per global report. */
const TRACES_PER_REPORT = 50;

export class RegionSyncAggregate {
  /** The region's name towards the global object, in place of an isolate id (`region:<object>/<service>`). */
  readonly regionId: string;
  /** The global snapshot as last received; answered to isolates until the next global sync. */
  snapshot: ServiceSnapshot | undefined;
  snapshotAt = 0;
  #service: OutcomeBatch = emptyBatch();
  #instances = new Map<string, OutcomeBatch & { latencySumMs: number }>();
  readonly #isolates = new Map<string, { at: number; inFlight: Record<string, number>; appliedSeq: number }>();
  #traffic: MinuteSums = {};
  #pendingTraffic = false;
  #seq = 0;
  #unacked: TrafficBatch[] = [];
  #traces: TraceRecord[] = [];
  #tracesKept: number | undefined;
  #policy: ServiceStatePolicy | undefined;
  #serviceName: string | undefined;

  constructor(regionId: string) {
    this.regionId = regionId;
  }

  /**
   * Notes the service's policy from a report without taking anything from it: the region can then report to the
   * global object (for its first snapshot) before it takes an isolate's sums, so that if that first report fails
   * the isolate's sums were not taken here, and the isolate can send them directly without their being counted twice.
   */
  notePolicy(report: SyncReport): void {
    this.#policy = report.policy;
    this.#serviceName = report.serviceName ?? this.#serviceName;
  }

  /**
   * Adds one isolate's report and returns the highest of its traffic batches now counted here (the isolate
   * drops batches up to it). A batch sent again after a lost answer is counted once.
   */
  take(report: SyncReport, now: number): number {
    this.#policy = report.policy;
    this.#serviceName = report.serviceName ?? this.#serviceName;
    this.#service = mergeBatches(this.#service, report.service);
    const inFlight: Record<string, number> = {};
    for (const [id, batch] of Object.entries(report.instances)) {
      const earlier = this.#instances.get(id) ?? { ...emptyBatch(), latencySumMs: 0 };
      this.#instances.set(id, { ...mergeBatches(earlier, batch), latencySumMs: earlier.latencySumMs + batch.latencySumMs });
      inFlight[id] = batch.inFlight;
    }
    const isolate = this.#isolates.get(report.isolateId);
    let acked = isolate?.appliedSeq ?? 0;
    const applied = acked;
    for (const batch of report.traffic ?? []) {
      if (batch.seq <= applied) continue;
      acked = Math.max(acked, batch.seq);
      const compatible: MinuteSums = {};
      for (const [minute, sums] of Object.entries(batch.minutes)) if (isCompatible(sums)) compatible[minute] = sums;
      addMinuteSums(this.#traffic, compatible);
      this.#pendingTraffic = true;
    }
    this.#isolates.set(report.isolateId, { at: now, inFlight, appliedSeq: acked });
    if (report.traces) this.#traces = [...this.#traces, ...report.traces].slice(-TRACES_PER_REPORT);
    this.#tracesKept = report.tracesKept ?? this.#tracesKept;
    return acked;
  }

  /** Whether the sums hold a failure the global object has not seen (news for the breaker and ejection: report soon). */
  get hasFailures(): boolean {
    return this.#service.failures > 0;
  }

  /** Whether the region has anything the global object has not seen. */
  get hasNews(): boolean {
    return this.#service.calls > 0 || this.#pendingTraffic || this.#unacked.length > 0 || this.#instances.size > 0;
  }

  /** The answer to an isolate: the last global snapshot, with that isolate's acknowledgement. */
  answer(ackedSeq: number): ServiceSnapshot | undefined {
    return this.snapshot && { ...this.snapshot, trafficAckedSeq: ackedSeq };
  }

  /**
   * The region's report to the global object: everything added since the last one, in-flight counts summed over
   * the isolates that reported recently. Undefined before any isolate reported (no policy known yet).
   */
  takeReport(now: number): SyncReport | undefined {
    if (!this.#policy) return undefined;
    const inFlight: Record<string, number> = {};
    for (const [id, isolate] of this.#isolates) {
      // Forgotten with its last batch number only after an hour, as the global object does (service-traffic.ts).
      if (now - isolate.at >= ISOLATE_FORGOTTEN_MS) this.#isolates.delete(id);
      if (now - isolate.at >= ISOLATE_STALE_MS) continue;
      for (const [instance, n] of Object.entries(isolate.inFlight)) inFlight[instance] = (inFlight[instance] ?? 0) + n;
    }
    const instances: Record<string, InstanceReport> = {};
    for (const id of this.#policy.instances) {
      const batch = this.#instances.get(id) ?? { ...emptyBatch(), latencySumMs: 0 };
      instances[id] = { ...batch, inFlight: inFlight[id] ?? 0 };
    }
    if (this.#pendingTraffic) {
      this.#unacked.push({ seq: ++this.#seq, minutes: this.#traffic });
      this.#traffic = {};
      this.#pendingTraffic = false;
    }
    if (this.#unacked.length > UNACKED_BATCHES_KEPT) {
      const merged = this.#unacked.splice(0, this.#unacked.length - UNACKED_BATCHES_KEPT + 1);
      this.#unacked.unshift({ seq: merged.at(-1)!.seq, minutes: merged.reduce((sum, batch) => addMinuteSums(sum, batch.minutes), {} as MinuteSums) });
    }
    const report: SyncReport = {
      isolateId: this.regionId,
      policy: this.#policy,
      service: this.#service,
      instances,
      version: SYNC_PROTOCOL_VERSION,
      serviceName: this.#serviceName,
      traffic: [...this.#unacked],
      traces: this.#traces,
      tracesKept: this.#tracesKept,
    };
    this.#service = emptyBatch();
    this.#instances = new Map();
    this.#traces = [];
    return report;
  }

  /** Takes the global object's answer to `report`. */
  applyGlobal(snapshot: ServiceSnapshot, now: number): void {
    const acked = snapshot.trafficAckedSeq;
    if (acked !== undefined) this.#unacked = this.#unacked.filter((batch) => batch.seq > acked);
    this.snapshot = { ...snapshot, trafficAckedSeq: undefined };
    this.snapshotAt = now;
  }

  /** The global call failed: the outcomes go back into the next report; traffic batches stay unacknowledged. */
  restore(report: SyncReport): void {
    this.#service = mergeBatches(report.service, this.#service);
    for (const [id, batch] of Object.entries(report.instances)) {
      const later = this.#instances.get(id) ?? { ...emptyBatch(), latencySumMs: 0 };
      this.#instances.set(id, { ...mergeBatches(batch, later), latencySumMs: batch.latencySumMs + later.latencySumMs });
    }
  }
}
