/**
 * @module The location tier's object: one per region (or per shard of a busy region, `_all@<hint>#<shard>`, created
 * with that locationHint), between the region's isolates and the global objects, so the global objects' load grows
 * with regions, not isolates. Each isolate makes one call per sync period (`exchange`) carrying every due service's
 * report and its lease asks; per service the object sums the reports into one report to the service's global
 * ServiceState (adaptively) and re-leases tokens from blocks of the global bucket (src/state/machines/region-hub.ts).
 * Named `_registry@<hint>`, it keeps the region's copy of the registry (`config`).
 *
 * Everything here is soft state, kept in memory: on eviction, blocks on lease are written off by the global bucket
 * after they expire (admitting less, never more), a copy of the registry is read again, and the sums isolates
 * reported since the last global sync (at most IDLE_SYNC_MAX_FACTOR sync intervals) are lost (docs/scale.md).
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import type { Overlay } from '../src/control-plane/overlay.ts';
import { callDurableObject } from '../src/state/clients/call-durable-object.ts';
import { RegionHub } from '../src/state/machines/region-hub.ts';
import type { RegionCallSettings, RegionExchangeAnswer, RegionExchangeRequest } from '../src/state/protocol/region-exchange-protocol.ts';

export type { RegionCallSettings };

/** The region's copy of the registry, and when it was last confirmed against the registry. */
export interface RegionConfigCopy {
  version: number;
  overlay: Overlay;
  checkedAt: number;
}

/** The registry's one object (src/control-plane/config-source.ts). */
const REGISTRY_NAME = 'registry';

export class ServiceRegion extends DurableObject<Env> {
  #hub: RegionHub | undefined;
  #config: RegionConfigCopy | undefined;
  #configRefresh: Promise<void> | undefined;

  get #regionHub(): RegionHub {
    return (this.#hub ??= new RegionHub(this.ctx.id.name ?? this.ctx.id.toString()));
  }

  /**
   * One isolate's call for the sync period: every report answered with the region's snapshot of its service (the
   * first fetched from the global object), every lease ask from the region's blocks. A part the region cannot
   * answer (no snapshot or block, and the global object failed) comes back failed: the isolate sends it directly.
   */
  async exchange(request: RegionExchangeRequest, settings: RegionCallSettings): Promise<RegionExchangeAnswer> {
    const options = { background: true, timeoutMs: settings.callTimeoutMs };
    return this.#regionHub.exchange(request, settings, Date.now, {
      sync: (service, report) => callDurableObject(() => this.env.SERVICE_STATE.getByName(service), (stub) => stub.sync(report), { kind: 'service-sync', ...options }),
      leaseBlock: (bucketKey, policy, want, returned) =>
        callDurableObject(() => this.env.RATE_LIMITS.getByName(bucketKey), (stub) => stub.acquire(policy, want, returned), { kind: 'rate-limit-lease', ...options }),
    });
  }

  /** A bucket's tokens as the region holds them: free in live blocks, and out on isolate leases. For the admin API and tests. */
  async inspect(bucketKey: string): Promise<{ available: number; onLease: number }> {
    return this.#regionHub.inspect(bucketKey, Date.now());
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
