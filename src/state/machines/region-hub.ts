/**
 * @module The region side of the batched exchange (docs/scale.md): one tier object per region (or per shard of a
 * busy region) takes each isolate's one call carrying every due service's report and lease asks, and keeps per
 * service what the per-service tier did: a RegionSyncAggregate summing reports into one report to the service's
 * global object, and a RegionLimiter re-leasing tokens from blocks of the global bucket. Pure: the global calls
 * and the clock are passed in, so durable-objects/service-region.ts and the simulator run the same code.
 */
import { IDLE_SYNC_MAX_FACTOR } from '../clients/service-state-client.ts';
import type { LeaseAsk, RegionCallSettings, RegionExchangeAnswer, RegionExchangeRequest, RegionPartFailed } from '../protocol/region-exchange-protocol.ts';
import type { ServiceSnapshot, SyncReport } from '../protocol/service-state-protocol.ts';
import { RegionLimiter } from './region-lease-pool.ts';
import { RegionSyncAggregate } from './region-sync-aggregate.ts';
import type { AcquireResult, BucketPolicy, LeaseReturn } from './token-bucket.ts';

/** How the region reaches the global objects (its stubs in the Durable Object; simulated calls in the simulator). */
export interface RegionGlobalCalls {
  sync(service: string, report: SyncReport): Promise<ServiceSnapshot>;
  leaseBlock(bucketKey: string, policy: BucketPolicy, want: number, returned: LeaseReturn[]): Promise<AcquireResult>;
}

/** Buckets a region keeps limiters for; beyond, the least recently used is dropped (its blocks are written off by the global bucket: fewer admissions, never more). */
const MAX_LIMITERS = 10_000;

interface RegionService {
  aggregate: RegionSyncAggregate;
  lastGlobalSyncAt: number;
  globalSync: Promise<void> | undefined;
}

/** An error as a failed part of the answer: the isolate goes direct for it, unless the global object was overloaded. */
function failedPart(error: unknown): RegionPartFailed {
  const overloaded = (error as { overloaded?: boolean } | undefined)?.overloaded === true || String((error as Error | undefined)?.message ?? '').endsWith('overloaded');
  return { failed: true, overloaded };
}

export class RegionHub {
  /** The object's name (`_all@<hint>#<shard>`): the region reports to each global object as `region:<name>/<service>`. */
  readonly name: string;
  readonly #services = new Map<string, RegionService>();
  readonly #limiters = new Map<string, RegionLimiter>();
  /** Calls this region made to the global objects (service syncs and block leases): for the simulator's figures. */
  globalCalls = 0;

  constructor(name: string) {
    this.name = name;
  }

  /**
   * One isolate's call: every lease ask answered from the region's blocks (a block asked of the global bucket when
   * they are empty), every report added to its service's sums and answered with the region's snapshot of that
   * service (fetched first when the region has none). A part the region cannot answer comes back failed, and the
   * isolate sends that part to the global object itself.
   */
  async exchange(request: RegionExchangeRequest, settings: RegionCallSettings, now: () => number, calls: RegionGlobalCalls): Promise<RegionExchangeAnswer> {
    const leases = Promise.all(request.leases.map((ask) => this.#lease(ask, settings, now, calls).catch(failedPart)));
    const snapshots = Promise.all(request.reports.map((report) => this.#sync(report, settings, now, calls).catch(failedPart)));
    return { snapshots: await snapshots, leases: await leases };
  }

  /** A bucket's tokens as the region holds them: free in live blocks, and out on isolate leases. */
  inspect(bucketKey: string, at: number): { available: number; onLease: number } {
    const limiter = this.#limiters.get(bucketKey);
    return limiter ? { available: limiter.pool.available(at), onLease: limiter.pool.onLease(at) } : { available: 0, onLease: 0 };
  }

  /** Services the region holds sums for. */
  get serviceCount(): number {
    return this.#services.size;
  }

  #lease(ask: LeaseAsk, settings: RegionCallSettings, now: () => number, calls: RegionGlobalCalls): Promise<AcquireResult> {
    let limiter = this.#limiters.get(ask.bucketKey);
    if (limiter) {
      this.#limiters.delete(ask.bucketKey);
    } else {
      limiter = new RegionLimiter({ blockFactor: settings.blockFactor });
      if (this.#limiters.size >= MAX_LIMITERS) this.#limiters.delete(this.#limiters.keys().next().value!);
    }
    this.#limiters.set(ask.bucketKey, limiter);
    return limiter.acquire(now, ask.policy, ask.want, ask.returned, (policy, want, returned) => {
      this.globalCalls += 1;
      return calls.leaseBlock(ask.bucketKey, policy, want, returned);
    });
  }

  async #sync(report: SyncReport, settings: RegionCallSettings, now: () => number, calls: RegionGlobalCalls): Promise<ServiceSnapshot> {
    const service = report.serviceName;
    if (!service) throw new Error('a report in a region exchange names its service');
    let entry = this.#services.get(service);
    if (!entry) this.#services.set(service, (entry = { aggregate: new RegionSyncAggregate(`region:${this.name}/${service}`), lastGlobalSyncAt: Number.NEGATIVE_INFINITY, globalSync: undefined }));
    const { aggregate } = entry;
    // First snapshot: fetched before this isolate's sums are taken, so a failure leaves them with the isolate
    // (which then sends them to the global object itself) and nothing is counted twice.
    if (!aggregate.snapshot) {
      aggregate.notePolicy(report);
      await this.#syncGlobal(service, entry, calls, now);
    }
    const acked = aggregate.take(report, now());
    if (this.#globalSyncDue(entry, now(), settings.syncIntervalMs)) this.#syncGlobal(service, entry, calls, now).catch(() => undefined);
    return aggregate.answer(acked)!;
  }

  /**
   * Adaptive on the region side too: a service whose sums hold a failure is reported after one sync interval (the
   * breaker's path), one with only successes and traffic sums after IDLE_SYNC_MAX_FACTOR intervals. Region to
   * global calls are then about shards × services / (4 intervals) for quiet services, whatever the isolates do.
   */
  #globalSyncDue(entry: RegionService, at: number, intervalMs: number): boolean {
    if (entry.globalSync) return false;
    const since = at - entry.lastGlobalSyncAt;
    if (entry.aggregate.hasFailures) return since >= intervalMs;
    return entry.aggregate.hasNews && since >= intervalMs * IDLE_SYNC_MAX_FACTOR;
  }

  /** Sends the service's sums to its global object and keeps the answer (one at a time per service, shared). */
  #syncGlobal(service: string, entry: RegionService, calls: RegionGlobalCalls, now: () => number): Promise<void> {
    if (entry.globalSync) return entry.globalSync;
    entry.lastGlobalSyncAt = now();
    const report = entry.aggregate.takeReport(now());
    if (!report) return Promise.resolve();
    this.globalCalls += 1;
    const sync = calls
      .sync(service, report)
      .then(
        (snapshot) => entry.aggregate.applyGlobal(snapshot, now()),
        (error: unknown) => {
          // The outcomes go back into the next report; the traffic batches stay unacknowledged.
          entry.aggregate.restore(report);
          throw error;
        },
      )
      .finally(() => (entry.globalSync = undefined));
    entry.globalSync = sync;
    return sync;
  }
}
