/**
 * @module The isolate's side of a service's shared state: it gathers outcomes, latencies and in-flight counts
 * locally, reports them to the service's object at most once per sync interval (in the background), and keeps
 * the answer, a snapshot of breaker, ejections and global load, as its short-lived local copy.
 */
import type { ServicePool } from '../../balancing/service-pool.ts';
import type { OutcomeBatch } from '../machines/breaker-machine.ts';
import { addMinuteSums, addSample, emptySums, minuteOf, type MinuteSums, type RequestSample } from '../../observability/traffic-sums.ts';
import type { TraceRecord } from '../../observability/trace-sampling.ts';
import { defaultIsolateContext, type IsolateContext } from '../infra/isolate-context.ts';
import { SYNC_PROTOCOL_VERSION, type InstanceReport, type ServiceSnapshot, type SyncReport, type TrafficBatch } from '../protocol/service-state-protocol.ts';

/** A sync is due once this many requests are pending, even before the interval is over. */
export const SYNC_BATCH_REQUESTS = 500;
/**
 * Adaptive sync: an isolate with nothing new for the shared decisions (no failure since its last report) syncs
 * up to this many intervals apart; a failure makes a sync due one interval after the last. Below the five
 * intervals after which a snapshot is too old for the breaker policy, so a quiet isolate never has to sync
 * while a request waits.
 */
export const IDLE_SYNC_MAX_FACTOR = 4;
/**
 * After a failed sync the next one is due this soon, doubling with each further failure up to the cap: a report
 * that failed is retried quickly, and an object that stays unreachable is not called by every isolate 4 times a
 * second (the requests themselves decide from failOpen meanwhile, see policies/circuit-breaker.ts).
 */
const RETRY_AFTER_FAILURE_MS = 250;
const RETRY_AFTER_FAILURE_MAX_MS = 10_000;
/** Unacknowledged batches kept apart; beyond, the oldest are merged (see docs/analytics.md, "exactness"). */
const UNACKED_BATCHES_KEPT = 30;
/** Bound on a trailing flush's attempts (a failed send is tried again after a short wait). */
const FLUSH_ATTEMPTS = 5;
/** Traces carried by one report; more in one interval are dropped (and counted) rather than grow the report. */
export const TRACES_PER_REPORT = 50;
/** Longest a trailing flush waits; work after a response may go on for 30 s. */
const FLUSH_MAX_WAIT_MS = 20_000;

export function emptyBatch(): OutcomeBatch {
  return { calls: 0, failures: 0, trailingFailures: 0, hadSuccess: false };
}

/** `later` added onto `earlier`, keeping the trailing-failure run right across the two. */
export function mergeBatches<B extends OutcomeBatch>(earlier: B, later: B): B {
  return {
    ...later,
    calls: earlier.calls + later.calls,
    failures: earlier.failures + later.failures,
    trailingFailures: later.hadSuccess ? later.trailingFailures : earlier.trailingFailures + later.trailingFailures,
    hadSuccess: earlier.hadSuccess || later.hadSuccess,
  };
}

function count(batch: OutcomeBatch, failed: boolean): void {
  batch.calls += 1;
  if (failed) {
    batch.failures += 1;
    batch.trailingFailures += 1;
  } else {
    batch.hadSuccess = true;
    batch.trailingFailures = 0;
  }
}

/** What the request path decides from the isolate's copy of the breaker (the operator's view is `BreakerStatus`). */
export type BreakerView =
  | { state: 'closed' }
  | { state: 'open'; retryAfterMs: number }
  | { state: 'half-open' }
  | { state: 'unknown' };

/** What a client needs of its isolate: its id and its clock (see src/state/infra/isolate-context.ts). */
export type ClientIsolate = Pick<IsolateContext, 'isolateId' | 'now'>;

export class ServiceStateClient {
  readonly #isolate: ClientIsolate;
  snapshot: ServiceSnapshot | undefined;
  /** When this isolate last had a snapshot; the admin API shows it. */
  snapshotReceivedAt = 0;
  /** Until when this isolate answers 503 itself after a probe permit was refused. */
  probeDeniedUntil = 0;
  /** Until when a request without a usable snapshot decides from failOpen rather than sync (after a failed sync). */
  syncBackoffUntil = 0;
  #service = emptyBatch();
  #instances = new Map<string, OutcomeBatch & { latencySumMs: number }>();
  #reportedInFlight: Record<string, number> = {};
  #nextSyncAt = 0;
  /** Failed syncs in a row, for the retry backoff. */
  #failedSyncs = 0;
  #syncing: Promise<void> | undefined;
  /** Per-minute sums of the requests recorded since the last report (the read plane). */
  #traffic: MinuteSums = {};
  #pendingRequests = 0;
  #seq = 0;
  /** Batches sent but not acknowledged by the object: sent again with every report until they are. */
  #unacked: TrafficBatch[] = [];
  #flushing = false;
  /** Syncs in a row that had nothing new to report (adaptive sync). */
  #quietSyncs = 0;
  #lastSyncAt = Number.NEGATIVE_INFINITY;
  #traces: TraceRecord[] = [];
  /** How many traces the service's object keeps (the configuration's `observability.traces.keptPerService`). */
  tracesKept: number | undefined;
  /** Traces dropped because a report was full. */
  tracesDropped = 0;

  /** `isolate`: the Worker's own by default; the simulator passes one per simulated isolate. */
  constructor(isolate: ClientIsolate = defaultIsolateContext) {
    this.#isolate = isolate;
  }

  /** Keeps a sampled trace for the next report. */
  recordTrace(trace: TraceRecord): void {
    if (this.#traces.length >= TRACES_PER_REPORT) this.tracesDropped += 1;
    else this.#traces.push(trace);
  }

  /** Adds one finished request to the pending per-minute sums; the next report carries them. */
  recordRequest(sample: RequestSample, now: number): void {
    const minute = minuteOf(now);
    const sums = (this.#traffic[minute] ??= emptySums());
    addSample(sums, sample);
    this.#pendingRequests += 1;
  }

  /** Whether anything recorded has not yet been counted by the object. */
  get hasPendingTraffic(): boolean {
    return this.#pendingRequests > 0 || this.#unacked.length > 0;
  }

  /** Whether `trailingFlush` would start one: something is pending and no flush waits yet. */
  get wantsTrailingFlush(): boolean {
    return !this.#flushing && this.hasPendingTraffic;
  }

  /**
   * The trailing flush: a promise (for the caller's waitUntil) that waits until a sync is due and sends what is
   * pending, so the last requests before traffic stops are counted too. One at a time per isolate and service;
   * undefined when one is already waiting or nothing is pending. It waits at most {@link FLUSH_MAX_WAIT_MS}, within
   * the platform's limit on work after the response, and then sends even if the interval is longer.
   */
  trailingFlush(pool: ServicePool, intervalMs: number, send: (report: SyncReport) => Promise<ServiceSnapshot>): Promise<void> | undefined {
    if (!this.wantsTrailingFlush) return undefined;
    this.#flushing = true;
    return (async () => {
      try {
        for (let attempt = 0; attempt < FLUSH_ATTEMPTS; attempt++) {
          const wait = Math.min(FLUSH_MAX_WAIT_MS, Math.max(10, this.#nextSyncAt - this.#isolate.now()));
          await new Promise((resolve) => setTimeout(resolve, wait));
          if (!this.hasPendingTraffic) break;
          // Another request's sync is under way: never wait on it (see syncNow); look again after it.
          if (this.#syncing) continue;
          this.#nextSyncAt = this.#isolate.now() + intervalMs;
          this.#syncing = this.syncNow(pool, send).finally(() => (this.#syncing = undefined));
          await this.#syncing;
        }
      } finally {
        this.#flushing = false;
      }
    })();
  }

  /** Counts one attempt's outcome: failed is a 5xx, a refused connection or a timeout. */
  record(instanceId: string, failed: boolean, latencyMs: number): void {
    count(this.#service, failed);
    let batch = this.#instances.get(instanceId);
    if (!batch) this.#instances.set(instanceId, (batch = { ...emptyBatch(), latencySumMs: 0 }));
    count(batch, failed);
    batch.latencySumMs += latencyMs;
  }

  /** Makes the next `syncIfDue` report at once (after an operator's reset, say). */
  expire(): void {
    this.#nextSyncAt = 0;
  }

  /**
   * Whether a sync is due at `now`, or will be by `dueBy` (the location tier's exchange takes along every service
   * due before the next one, src/state/clients/region-exchange.ts): the adaptive wait is over, or a failure waits
   * to be reported and an interval has passed, or a batch's worth of requests is pending. Never while one is under way.
   */
  isDue(now: number, intervalMs: number, dueBy = now): boolean {
    if (this.#syncing) return false;
    const urgent = now >= this.#lastSyncAt + intervalMs && this.#hasNews();
    return dueBy >= this.#nextSyncAt || urgent || this.#pendingRequests >= SYNC_BATCH_REQUESTS;
  }

  /** Whether anything was recorded since the last report (a request's outcome or traffic sums): a quiet service does not sync. */
  get hasActivity(): boolean {
    return this.#service.calls > 0 || this.hasPendingTraffic;
  }

  /**
   * Reports and refreshes the snapshot if the sync interval has passed and no background sync is under way.
   * Returns the sync's promise (for the caller's waitUntil) or undefined when nothing was due. `dueBy`: sync now
   * if the sync would be due by then (the tier's exchange), not only at `now`.
   */
  syncIfDue(now: number, pool: ServicePool, intervalMs: number, send: (report: SyncReport) => Promise<ServiceSnapshot>, dueBy = now): Promise<void> | undefined {
    if (!this.isDue(now, intervalMs, dueBy)) return undefined;
    // Adaptive sync: each sync in a row with nothing new doubles the wait before the next, up to
    // IDLE_SYNC_MAX_FACTOR intervals; news (a failure) makes the next one due after one interval again.
    this.#quietSyncs = this.#hasNews() ? 0 : this.#quietSyncs + 1;
    this.#lastSyncAt = now;
    this.#nextSyncAt = now + intervalMs * Math.min(IDLE_SYNC_MAX_FACTOR, 2 ** this.#quietSyncs);
    this.#syncing = this.syncNow(pool, send).finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  /**
   * Reports and refreshes now, for a request that cannot go on without a snapshot. It never waits on a sync another
   * request started: in Workers that would resume this request in the other's context.
   */
  async syncNow(pool: ServicePool, send: (report: SyncReport) => Promise<ServiceSnapshot>): Promise<void> {
    const report = this.#takeReport(pool);
    try {
      const snapshot = await send(report);
      const acked = snapshot.trafficAckedSeq;
      if (acked !== undefined) this.#unacked = this.#unacked.filter((batch) => batch.seq > acked);
      this.#failedSyncs = 0;
      this.apply(snapshot, pool, this.#isolate.now());
    } catch {
      // Nothing is dropped: the outcomes go back into the next report, the traffic batches stay unacknowledged and
      // are sent again (the object counts each batch number once), and the next sync is due soon.
      this.#restore(report);
      // Traces go back too, within the same bound.
      this.#traces = [...(report.traces ?? []), ...this.#traces].slice(0, TRACES_PER_REPORT);
      this.#failedSyncs += 1;
      this.#nextSyncAt = this.#isolate.now() + Math.min(RETRY_AFTER_FAILURE_MAX_MS, RETRY_AFTER_FAILURE_MS * 2 ** (this.#failedSyncs - 1));
    }
  }

  /** Whether the next report carries news for the shared decisions: a failure (breaker, ejection). */
  #hasNews(): boolean {
    return this.#service.failures > 0;
  }

  #restore(report: SyncReport): void {
    this.#service = mergeBatches(report.service, this.#service);
    for (const [id, batch] of Object.entries(report.instances)) {
      const later = this.#instances.get(id) ?? { ...emptyBatch(), latencySumMs: 0 };
      this.#instances.set(id, { ...mergeBatches(batch, later), latencySumMs: batch.latencySumMs + later.latencySumMs });
    }
  }

  /** Takes a snapshot into this isolate's view of the pool. */
  apply(snapshot: ServiceSnapshot, pool: ServicePool, now: number): void {
    this.snapshot = snapshot;
    this.snapshotReceivedAt = now;
    for (const instance of pool.instances) {
      instance.ejectedUntil = snapshot.ejected[instance.id] ?? 0;
      instance.unhealthy = snapshot.unhealthy?.includes(instance.id) ?? false;
      // The object's total includes what this isolate reported; its current count is added back live.
      instance.othersInFlight = Math.max(0, (snapshot.inFlight[instance.id] ?? 0) - (this.#reportedInFlight[instance.id] ?? 0));
      const rtt = snapshot.rttMs[instance.id];
      if (rtt !== undefined) instance.adoptSharedRtt(rtt, now);
    }
  }

  /** The breaker as this isolate's copy has it at `now`. */
  breaker(now: number): BreakerView {
    const breaker = this.snapshot?.breaker;
    if (!breaker) return { state: 'unknown' };
    if (breaker.state === 'open') return now < breaker.openUntil ? { state: 'open', retryAfterMs: breaker.openUntil - now } : { state: 'half-open' };
    return { state: breaker.state };
  }

  #takeReport(pool: ServicePool): SyncReport {
    const instances: Record<string, InstanceReport> = {};
    this.#reportedInFlight = {};
    for (const instance of pool.instances) {
      const batch = this.#instances.get(instance.id) ?? { ...emptyBatch(), latencySumMs: 0 };
      instances[instance.id] = { ...batch, inFlight: instance.inFlight };
      this.#reportedInFlight[instance.id] = instance.inFlight;
    }
    if (this.#pendingRequests > 0) {
      this.#unacked.push({ seq: ++this.#seq, minutes: this.#traffic });
      this.#traffic = {};
      this.#pendingRequests = 0;
    }
    if (this.#unacked.length > UNACKED_BATCHES_KEPT) {
      // The object has been unreachable for a long while: keep the report bounded. The merged batch takes the
      // newest number, so if the object did count one of the merged ones (a call that timed out after it was
      // applied), those sums are counted twice; see docs/analytics.md.
      const merged = this.#unacked.splice(0, this.#unacked.length - UNACKED_BATCHES_KEPT + 1);
      this.#unacked.unshift({ seq: merged.at(-1)!.seq, minutes: merged.reduce((sum, batch) => addMinuteSums(sum, batch.minutes), {} as MinuteSums) });
    }
    const report: SyncReport = {
      isolateId: this.#isolate.isolateId,
      policy: pool.statePolicy,
      service: this.#service,
      instances,
      version: SYNC_PROTOCOL_VERSION,
      serviceName: pool.service.name,
      traffic: [...this.#unacked],
      traces: this.#traces,
      tracesKept: this.tracesKept,
    };
    this.#traces = [];
    this.#service = emptyBatch();
    this.#instances = new Map();
    return report;
  }
}

/** The client for `service` in the Worker's isolate (the default context); it outlives configuration changes. */
export function serviceStateClient(service: string): ServiceStateClient {
  return defaultIsolateContext.serviceState(service);
}
