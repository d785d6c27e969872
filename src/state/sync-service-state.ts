/** @module When and how an isolate syncs with a service's state object. */
import type { ServicePool } from '../balancing/service-pool.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { Env } from '../env.ts';
import { callDurableObject } from './call-durable-object.ts';

/**
 * Starts a sync with the service's object if one is due: in the background (under `waitUntil`), unless
 * `waitForIt`, which a request without any snapshot yet uses to start from the shared truth.
 */
export function syncServiceState(
  env: Env,
  pool: ServicePool,
  settings: GatewayConfig['gateway']['statePlane'],
  waitUntil: (promise: Promise<unknown>) => void,
  waitForIt = false,
): Promise<void> | undefined {
  const pending = pool.state.syncIfDue(Date.now(), pool, settings.syncIntervalMs, (report) =>
    callDurableObject(
      () => env.SERVICE_STATE.getByName(pool.service.name),
      (stub) => stub.sync(report),
      { kind: 'service-sync', background: !waitForIt, timeoutMs: settings.callTimeoutMs },
    ),
  );
  if (pending && !waitForIt) waitUntil(pending);
  return pending;
}
