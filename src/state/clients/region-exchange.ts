/**
 * @module The isolate's side of the batched exchange with its region's tier object (docs/scale.md): instead of one
 * call per service it serves, an isolate makes one call per sync period carrying every service's report that is due
 * (or will be before the next period) and any lease a request needs, and takes back a snapshot per service and the
 * leases. The Worker's isolate and each simulated isolate run this; the transport (stubs or simulated calls) is
 * passed in. When the region object fails the same parts go to the global objects directly, and the isolate stays
 * direct for the failover's backoff; an overloaded region object is not bypassed.
 */
import type { ServicePool } from '../../balancing/service-pool.ts';
import type { RegionFailover } from '../machines/region-failover.ts';
import type { AcquireResult } from '../machines/token-bucket.ts';
import { isPartFailed, type LeaseAsk, type RegionExchangeAnswer, type RegionExchangeRequest } from '../protocol/region-exchange-protocol.ts';
import type { ServiceSnapshot, SyncReport } from '../protocol/service-state-protocol.ts';
import type { ClientIsolate } from './service-state-client.ts';

/** The calls the exchange makes: to the region object, and to the global objects when it cannot. */
export interface ExchangeTransport {
  /** The one call to the region's object; throws as its stub does. */
  exchange(request: RegionExchangeRequest): Promise<RegionExchangeAnswer>;
  /** A report to the service's global object. */
  directSync(service: string, report: SyncReport): Promise<ServiceSnapshot>;
  /** A lease from the global bucket. */
  directAcquire(ask: LeaseAsk): Promise<AcquireResult>;
}

/** The region object, or the global object behind it, refused for overload: the policy decides (failOpen), no bypass. */
export class RegionOverloaded extends Error {
  override readonly name = 'RegionOverloaded';
  readonly overloaded = true;
}

function isOverloaded(error: unknown): boolean {
  return (error as { overloaded?: boolean } | undefined)?.overloaded === true || String((error as Error | undefined)?.message ?? '').endsWith('overloaded');
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

export class RegionExchangeClient {
  readonly #isolate: ClientIsolate;
  readonly #failover: RegionFailover;
  /** The pools of the services this isolate serves (the newest per service): their reports ride the exchanges. */
  readonly #pools = new Map<string, ServicePool>();
  /** Calls made to the region object, and calls that fell back to direct because it failed. */
  exchanges = 0;
  fallbacks = 0;

  constructor(isolate: ClientIsolate, failover: RegionFailover) {
    this.#isolate = isolate;
    this.#failover = failover;
  }

  /** Notes a service this isolate serves, so its reports ride the exchanges. */
  track(pool: ServicePool): void {
    this.#pools.set(pool.service.name, pool);
  }

  /**
   * Exchanges now if any service's sync is due (adaptive sync decides per service), carrying every service with
   * something to report whose sync is due before the next period. Undefined when nothing was due.
   */
  syncIfDue(now: number, intervalMs: number, transport: ExchangeTransport): Promise<void> | undefined {
    let due = false;
    for (const pool of this.#pools.values()) if (pool.state.hasActivity && pool.state.isDue(now, intervalMs)) due = true;
    if (!due) return undefined;
    return this.exchangeDue(now, intervalMs, transport);
  }

  /**
   * Exchanges now, carrying every service with something to report whose sync is due before the next period
   * (even if none is due yet); undefined when there is none. `syncIfDue` calls it once a sync is due.
   */
  exchangeDue(now: number, intervalMs: number, transport: ExchangeTransport): Promise<void> | undefined {
    let any = false;
    for (const pool of this.#pools.values()) if (pool.state.hasActivity && pool.state.isDue(now, intervalMs, now + intervalMs)) any = true;
    if (!any) return undefined;
    return this.#exchange(now, intervalMs, transport, undefined, undefined).then(() => undefined);
  }

  /** Whether calls go to the region's object now (not direct after it failed). */
  usesRegion(now: number): boolean {
    return this.#failover.useRegion(now);
  }

  /** Exchanges now, carrying `pool`'s report whatever its schedule: a request that has no usable snapshot waits for this. */
  async syncNow(pool: ServicePool, intervalMs: number, transport: ExchangeTransport): Promise<void> {
    this.track(pool);
    await this.#exchange(this.#isolate.now(), intervalMs, transport, pool, undefined);
  }

  /** A lease for a request (LeasedLimiter's AcquireLease): an exchange now, carrying the due reports along. */
  async acquire(ask: LeaseAsk, intervalMs: number, transport: ExchangeTransport): Promise<AcquireResult> {
    return (await this.#exchange(this.#isolate.now(), intervalMs, transport, undefined, ask))!;
  }

  /** One report on its own (the trailing flush after traffic stops): an exchange of that report only. */
  async sendOne(report: SyncReport, transport: ExchangeTransport): Promise<ServiceSnapshot> {
    const service = report.serviceName!;
    if (!this.#failover.useRegion(this.#isolate.now())) return transport.directSync(service, report);
    const snapshot = new Promise<ServiceSnapshot>((resolve, reject) => void this.#send({ isolateId: this.#isolate.isolateId, reports: [report], leases: [] }, [{ resolve, reject }], transport).catch(reject));
    return snapshot;
  }

  async #exchange(now: number, intervalMs: number, transport: ExchangeTransport, forced: ServicePool | undefined, ask: LeaseAsk | undefined): Promise<AcquireResult | undefined> {
    const useRegion = this.#failover.useRegion(now);
    // Direct after the region failed: a lease goes alone (the request waits for it, not for other services' syncs).
    if (!useRegion && ask) return transport.directAcquire(ask);
    const reports: SyncReport[] = [];
    const waiters: Waiter<ServiceSnapshot>[] = [];
    // The clients take their reports synchronously and wait for these promises (ServiceStateClient.syncNow): all
    // due reports are gathered before the one call is made. Direct (after the region failed): one call per service.
    const send = (report: SyncReport) =>
      useRegion ? new Promise<ServiceSnapshot>((resolve, reject) => (reports.push(report), waiters.push({ resolve, reject }))) : transport.directSync(report.serviceName!, report);
    const syncs: Promise<void>[] = [];
    if (forced) syncs.push(forced.state.syncNow(forced, send));
    for (const pool of this.#pools.values()) {
      if (pool === forced || !pool.state.hasActivity) continue;
      const started = pool.state.syncIfDue(now, pool, intervalMs, send, now + intervalMs);
      if (started) syncs.push(started);
    }
    let lease: Promise<AcquireResult> | undefined;
    if (useRegion && (reports.length > 0 || ask)) {
      const leaseWaiters: Waiter<AcquireResult>[] = [];
      if (ask) lease = new Promise<AcquireResult>((resolve, reject) => leaseWaiters.push({ resolve, reject }));
      const sent = this.#send({ isolateId: this.#isolate.isolateId, reports, leases: ask ? [ask] : [] }, waiters, transport, leaseWaiters);
      // A failed send has rejected every waiter already; the clients keep their reports for the next sync.
      sent.catch(() => undefined);
    }
    // The clients catch a failed send themselves (outcomes restored, sent again later): these never reject.
    await Promise.all(syncs);
    return lease && (await lease);
  }

  /** Makes the call and settles each part: from the answer, or direct when the region could not answer it. */
  async #send(request: RegionExchangeRequest, reports: Waiter<ServiceSnapshot>[], transport: ExchangeTransport, leases: Waiter<AcquireResult>[] = []): Promise<void> {
    this.exchanges += 1;
    let answer: RegionExchangeAnswer;
    try {
      answer = await transport.exchange(request);
    } catch (error) {
      if (isOverloaded(error)) {
        // Not bypassed: the global objects serve every region, and this region's isolates would move its load there.
        for (const waiter of [...reports, ...leases]) waiter.reject(error);
        throw error;
      }
      this.#failover.failed(this.#isolate.now());
      this.fallbacks += 1;
      answer = { snapshots: request.reports.map(() => ({ failed: true, overloaded: false })), leases: request.leases.map(() => ({ failed: true, overloaded: false })) };
    }
    request.reports.forEach((report, i) => {
      const part = answer.snapshots[i];
      const waiter = reports[i]!;
      if (part && !isPartFailed(part)) waiter.resolve(part);
      else if (part?.overloaded) waiter.reject(new RegionOverloaded(`${report.serviceName}: global object overloaded`));
      else transport.directSync(report.serviceName!, report).then(waiter.resolve, waiter.reject);
    });
    request.leases.forEach((ask, i) => {
      const part = answer.leases[i];
      const waiter = leases[i]!;
      if (part && !isPartFailed(part)) waiter.resolve(part);
      else if (part?.overloaded) waiter.reject(new RegionOverloaded(`${ask.bucketKey}: global bucket overloaded`));
      else transport.directAcquire(ask).then(waiter.resolve, waiter.reject);
    });
  }
}
