/**
 * @module When and how an isolate syncs with a service's state object: directly, or with the location tier on,
 * inside the isolate's one batched exchange per sync period with its region's object (src/state/clients/tier.ts).
 */
import type { ServicePool } from '../../balancing/service-pool.ts';
import type { GatewayConfig } from '../../config/schema.ts';
import type { Env } from '../../env.ts';
import { callDurableObject } from './call-durable-object.ts';
import { defaultIsolateContext, type IsolateContext } from '../infra/isolate-context.ts';
import type { SyncReport } from '../protocol/service-state-protocol.ts';
import { exchangeTransport, regionExchange } from './tier.ts';

type StatePlaneSettings = GatewayConfig['gateway']['statePlane'];

/** The call that carries one report to the service's object (or in an exchange of its own to the region's) and brings back its snapshot. */
function sender(env: Env, pool: ServicePool, settings: StatePlaneSettings, background: boolean, isolate: IsolateContext) {
  const tier = regionExchange(settings, isolate);
  if (tier) {
    const transport = exchangeTransport(env, settings, tier.name, background, isolate);
    return (report: SyncReport) => tier.client.sendOne(report, transport);
  }
  return (report: SyncReport) =>
    callDurableObject(() => env.SERVICE_STATE.getByName(pool.service.name), (stub) => stub.sync(report), {
      kind: 'service-sync',
      background,
      timeoutMs: settings.callTimeoutMs,
    });
}

/**
 * Starts a sync in the background (under `waitUntil`) if one is due. With the tier, the isolate's exchange
 * decides: one call carries every service whose sync is due before the next period.
 */
export function syncServiceState(env: Env, pool: ServicePool, settings: StatePlaneSettings, waitUntil: (promise: Promise<unknown>) => void, isolate: IsolateContext = defaultIsolateContext): void {
  const tier = regionExchange(settings, isolate);
  if (tier) {
    tier.client.track(pool);
    const pending = tier.client.syncIfDue(isolate.now(), settings.syncIntervalMs, exchangeTransport(env, settings, tier.name, true, isolate));
    if (pending) waitUntil(pending);
    return;
  }
  // Asked first, so that a request with no sync due (almost all) builds no sender.
  const now = Date.now();
  if (!pool.state.isDue(now, settings.syncIntervalMs)) return;
  const pending = pool.state.syncIfDue(now, pool, settings.syncIntervalMs, sender(env, pool, settings, true, isolate));
  if (pending) waitUntil(pending);
}

/** Syncs now and waits for it: for a request that has no snapshot yet to decide on. */
export function syncServiceStateNow(env: Env, pool: ServicePool, settings: StatePlaneSettings, isolate: IsolateContext = defaultIsolateContext): Promise<void> {
  const tier = regionExchange(settings, isolate);
  if (tier) return tier.client.syncNow(pool, settings.syncIntervalMs, exchangeTransport(env, settings, tier.name, false, isolate));
  return pool.state.syncNow(pool, sender(env, pool, settings, false, isolate));
}

/**
 * Makes sure what this isolate recorded for the service reaches its object even if no request follows: a sync
 * is started now if due, else (when the configuration's `trailingFlush` is on) one waits under `waitUntil` for
 * the end of the interval. At most one waits per isolate and service.
 */
export function flushServiceState(env: Env, pool: ServicePool, settings: StatePlaneSettings, waitUntil: (promise: Promise<unknown>) => void, isolate: IsolateContext = defaultIsolateContext): void {
  syncServiceState(env, pool, settings, waitUntil, isolate);
  if (!settings.trailingFlush || !pool.state.wantsTrailingFlush) return;
  const trailing = pool.state.trailingFlush(pool, settings.syncIntervalMs, sender(env, pool, settings, true, isolate));
  if (trailing) waitUntil(trailing);
}
