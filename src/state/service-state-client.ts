/**
 * @module The isolate's side of a service's shared state: it gathers outcomes, latencies and in-flight counts
 * locally, reports them to the service's object at most once per sync interval (in the background), and keeps
 * the answer, a snapshot of breaker, ejections and global load, as its short-lived local copy.
 */
import type { ServicePool } from '../balancing/service-pool.ts';
import type { OutcomeBatch } from './circuit-breaker.ts';
import type { InstanceReport, ServiceSnapshot, SyncReport } from './service-state-protocol.ts';

/** Identifies this isolate to the service objects, so each can sum in-flight counts over isolates. */
let isolateId: string | undefined;

function emptyBatch(): OutcomeBatch {
  return { calls: 0, failures: 0, trailingFailures: 0, hadSuccess: false };
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

export type BreakerView =
  | { state: 'closed' }
  | { state: 'open'; retryAfterMs: number }
  | { state: 'half-open' }
  | { state: 'unknown' };

export class ServiceStateClient {
  snapshot: ServiceSnapshot | undefined;
  /** When this isolate last had a snapshot; the admin API shows it. */
  snapshotReceivedAt = 0;
  /** Until when this isolate answers 503 itself after a probe permit was refused. */
  probeDeniedUntil = 0;
  #service = emptyBatch();
  #instances = new Map<string, OutcomeBatch & { latencySumMs: number }>();
  #reportedInFlight: Record<string, number> = {};
  #nextSyncAt = 0;
  #syncing: Promise<void> | undefined;

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
   * Reports and refreshes the snapshot if the sync interval has passed and no background sync is under way.
   * Returns the sync's promise (for the caller's waitUntil) or undefined when nothing was due.
   */
  syncIfDue(now: number, pool: ServicePool, intervalMs: number, send: (report: SyncReport) => Promise<ServiceSnapshot>): Promise<void> | undefined {
    if (this.#syncing || now < this.#nextSyncAt) return undefined;
    this.#nextSyncAt = now + intervalMs;
    this.#syncing = this.syncNow(pool, send).finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  /**
   * Reports and refreshes now, for a request that cannot go on without a snapshot. It never waits on a sync another
   * request started: in Workers that would resume this request in the other's context.
   */
  async syncNow(pool: ServicePool, send: (report: SyncReport) => Promise<ServiceSnapshot>): Promise<void> {
    try {
      this.apply(await send(this.#takeReport(pool)), pool, Date.now());
    } catch {
      // The outcomes are lost, not the state: the object keeps what it had, and the next report goes on from here.
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
    isolateId ??= crypto.randomUUID();
    const instances: Record<string, InstanceReport> = {};
    this.#reportedInFlight = {};
    for (const instance of pool.instances) {
      const batch = this.#instances.get(instance.id) ?? { ...emptyBatch(), latencySumMs: 0 };
      instances[instance.id] = { ...batch, inFlight: instance.inFlight };
      this.#reportedInFlight[instance.id] = instance.inFlight;
    }
    const report: SyncReport = { isolateId, policy: pool.statePolicy, service: this.#service, instances };
    this.#service = emptyBatch();
    this.#instances = new Map();
    return report;
  }
}

const clients = new Map<string, ServiceStateClient>();

/** The client for `service` in this isolate; it outlives configuration changes. */
export function serviceStateClient(service: string): ServiceStateClient {
  let client = clients.get(service);
  if (!client) clients.set(service, (client = new ServiceStateClient()));
  return client;
}
