/** @module When and how an isolate syncs with a service's state object. */
import type { ServicePool } from '../../balancing/service-pool.ts';
import type { GatewayConfig } from '../../config/schema.ts';
import type { Env } from '../../env.ts';
import { callDurableObject } from './call-durable-object.ts';
import type { SyncReport } from '../protocol/service-state-protocol.ts';
import { regionCallSettings, regionTarget, throughRegion } from './tier.ts';

/** The call that carries a report to the service's object (or its region's, src/state/clients/tier.ts) and brings back its snapshot. */
function sender(env: Env, pool: ServicePool, settings: GatewayConfig['gateway']['statePlane'], background: boolean) {
  const direct = (report: SyncReport) =>
    callDurableObject(() => env.SERVICE_STATE.getByName(pool.service.name), (stub) => stub.sync(report), {
      kind: 'service-sync',
      background,
      timeoutMs: settings.callTimeoutMs,
    });
  return (report: SyncReport) => {
    const region = regionTarget(settings, pool.service.name);
    return throughRegion(env, region, settings, (stub) => stub.sync(report, regionCallSettings(settings)), () => direct(report), { kind: 'service-sync', background });
  };
}

/** Starts a sync with the service's object in the background (under `waitUntil`) if one is due. */
export function syncServiceState(
  env: Env,
  pool: ServicePool,
  settings: GatewayConfig['gateway']['statePlane'],
  waitUntil: (promise: Promise<unknown>) => void,
): void {
  const pending = pool.state.syncIfDue(Date.now(), pool, settings.syncIntervalMs, sender(env, pool, settings, true));
  if (pending) waitUntil(pending);
}

/** Syncs now and waits for it: for a request that has no snapshot yet to decide on. */
export function syncServiceStateNow(env: Env, pool: ServicePool, settings: GatewayConfig['gateway']['statePlane']): Promise<void> {
  return pool.state.syncNow(pool, sender(env, pool, settings, false));
}

/**
 * Makes sure what this isolate recorded for the service reaches its object even if no request follows: a sync
 * is started now if due, else (when the configuration's `trailingFlush` is on) one waits under `waitUntil` for
 * the end of the interval. At most one waits per isolate and service.
 */
export function flushServiceState(
  env: Env,
  pool: ServicePool,
  settings: GatewayConfig['gateway']['statePlane'],
  waitUntil: (promise: Promise<unknown>) => void,
): void {
  const send = sender(env, pool, settings, true);
  const started = pool.state.syncIfDue(Date.now(), pool, settings.syncIntervalMs, send);
  if (started) waitUntil(started);
  if (!settings.trailingFlush) return;
  const trailing = pool.state.trailingFlush(pool, settings.syncIntervalMs, send);
  if (trailing) waitUntil(trailing);
}
