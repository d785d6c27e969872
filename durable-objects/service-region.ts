/**
 * @module The location tier: one object per service per region (`<service>@<hint>`, created with that
 * locationHint), between the region's isolates and the service's global objects, so the global objects' load
 * grows with regions, not isolates. It re-leases rate-limit tokens from blocks leased from the global bucket
 * (src/state/machines/region-lease-pool.ts), sums its isolates' sync reports into one report to the global ServiceState
 * (src/state/machines/region-sync-aggregate.ts), and, as `registry@<hint>`, keeps the region's copy of the registry.
 *
 * Everything here is soft state, kept in memory: on eviction, blocks on lease are written off by the global bucket
 * after they expire (admitting less, never more), a copy of the registry is read again, and the sums isolates
 * reported since the last global sync (at most one sync interval) are lost (docs/scale.md, "what the tier loses").
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import type { Overlay } from '../src/control-plane/overlay.ts';
import { callDurableObject } from '../src/state/clients/call-durable-object.ts';
import { RegionLimiter } from '../src/state/machines/region-lease-pool.ts';
import { RegionSyncAggregate } from '../src/state/machines/region-sync-aggregate.ts';
import type { ServiceSnapshot, SyncReport } from '../src/state/protocol/service-state-protocol.ts';
import type { AcquireResult, BucketPolicy, LeaseReturn } from '../src/state/machines/token-bucket.ts';

/** How the region talks to the global objects; the isolate passes its configuration's values with each call. */
export interface RegionCallSettings {
  /** `gateway.statePlane.callTimeoutMs`. */
  callTimeoutMs: number;
  /** `gateway.statePlane.syncIntervalMs`: the region reports to the global object at most this often. */
  syncIntervalMs: number;
  /** `gateway.statePlane.tier.blockFactor`. */
  blockFactor: number;
}

/** The region's copy of the registry, and when it was last confirmed against the registry. */
export interface RegionConfigCopy {
  version: number;
  overlay: Overlay;
  checkedAt: number;
}

/** The registry's one object (src/control-plane/config-source.ts). */
const REGISTRY_NAME = 'registry';

export class ServiceRegion extends DurableObject<Env> {
  /** One limiter per bucket key (service, route or consumer bucket of this service). */
  readonly #limiters = new Map<string, RegionLimiter>();
  #aggregate: RegionSyncAggregate | undefined;
  #lastGlobalSyncAt = Number.NEGATIVE_INFINITY;
  #globalSync: Promise<void> | undefined;
  #config: RegionConfigCopy | undefined;
  #configRefresh: Promise<void> | undefined;

  /** `<service>` of `<service>@<hint>`. */
  get #service(): string {
    const name = this.ctx.id.name ?? '';
    return name.slice(0, name.lastIndexOf('@'));
  }

  /**
   * An isolate's lease of up to `want` tokens from `bucketKey`, handing back its spent and expired leases.
   * Answered from the blocks the region holds; throws when it holds none and the global bucket cannot be reached
   * (the isolate then calls the global bucket itself).
   */
  async acquire(bucketKey: string, policy: BucketPolicy, want: number, returned: LeaseReturn[], settings: RegionCallSettings): Promise<AcquireResult> {
    let limiter = this.#limiters.get(bucketKey);
    if (!limiter) this.#limiters.set(bucketKey, (limiter = new RegionLimiter({ blockFactor: settings.blockFactor })));
    return limiter.acquire(Date.now, policy, want, returned, (regionPolicy, blockWant, returns) =>
      callDurableObject(() => this.env.RATE_LIMITS.getByName(bucketKey), (stub) => stub.acquire(regionPolicy, blockWant, returns), {
        kind: 'rate-limit-lease',
        background: true,
        timeoutMs: settings.callTimeoutMs,
      }),
    );
  }

  /**
   * An isolate's sync report: added to the region's sums, answered with the global snapshot the region holds.
   * The region reports to the global object when a sync interval has passed (in the background), and first of
   * all when it has no snapshot yet (then this call waits for it, and throws if the global object fails).
   */
  async sync(report: SyncReport, settings: RegionCallSettings): Promise<ServiceSnapshot> {
    const aggregate = (this.#aggregate ??= new RegionSyncAggregate(`region:${this.ctx.id.name ?? ''}`));
    // First snapshot: reported before this isolate's sums are taken, so a failure leaves them with the isolate
    // (which then sends them to the global object itself) and nothing is counted twice.
    if (!aggregate.snapshot) {
      aggregate.notePolicy(report);
      await this.#syncGlobal(aggregate, settings);
    }
    const acked = aggregate.take(report, Date.now());
    if (!this.#globalSync && Date.now() - this.#lastGlobalSyncAt >= settings.syncIntervalMs) this.#syncGlobal(aggregate, settings).catch(() => undefined);
    return aggregate.answer(acked)!;
  }

  /** A bucket's tokens as the region holds them: free in live blocks, and out on isolate leases. For the admin API and tests. */
  async inspect(bucketKey: string): Promise<{ available: number; onLease: number }> {
    const limiter = this.#limiters.get(bucketKey);
    const now = Date.now();
    return limiter ? { available: limiter.pool.available(now), onLease: limiter.pool.onLease(now) } : { available: 0, onLease: 0 };
  }

  #syncGlobal(aggregate: RegionSyncAggregate, settings: RegionCallSettings): Promise<void> {
    this.#globalSync ??= (async () => {
      this.#lastGlobalSyncAt = Date.now();
      const report = aggregate.takeReport(Date.now());
      if (!report) return;
      try {
        const snapshot = await callDurableObject(() => this.env.SERVICE_STATE.getByName(this.#service), (stub) => stub.sync(report), {
          kind: 'service-sync',
          background: true,
          timeoutMs: settings.callTimeoutMs,
        });
        aggregate.applyGlobal(snapshot, Date.now());
      } catch (error) {
        aggregate.restore(report);
        throw error;
      } finally {
        this.#globalSync = undefined;
      }
    })();
    return this.#globalSync;
  }

  /**
   * The region's copy of the registry (this object named `registry@<hint>`). Older than `maxStaleMs`: read again
   * before answering (a removed instance or a changed auth rule must not linger); older than `pollIntervalMs`:
   * checked in the background, the copy answered at once. Throws when it must refresh and cannot.
   */
  async config(maxStaleMs: number, pollIntervalMs: number, timeoutMs: number): Promise<RegionConfigCopy> {
    const age = this.#config ? Date.now() - this.#config.checkedAt : Number.POSITIVE_INFINITY;
    if (age > maxStaleMs) await this.#refreshConfig(timeoutMs);
    else if (age >= pollIntervalMs && !this.#configRefresh) this.#refreshConfig(timeoutMs).catch(() => undefined);
    return this.#config!;
  }

  #refreshConfig(timeoutMs: number): Promise<void> {
    this.#configRefresh ??= (async () => {
      try {
        const registry = () => this.env.REGISTRY.getByName(REGISTRY_NAME);
        const options = { kind: 'config-poll' as const, background: true, timeoutMs };
        if (this.#config) {
          const version = await callDurableObject(registry, (stub) => stub.version(), options);
          if (version === this.#config.version) {
            this.#config = { ...this.#config, checkedAt: Date.now() };
            return;
          }
        }
        const snapshot = await callDurableObject(registry, (stub) => stub.snapshot(), options);
        if (!this.#config || snapshot.version >= this.#config.version) this.#config = { version: snapshot.version, overlay: snapshot.overlay, checkedAt: Date.now() };
      } finally {
        this.#configRefresh = undefined;
      }
    })();
    return this.#configRefresh;
  }
}
