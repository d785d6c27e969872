/** @module The middleware that arms health checks from an isolate's first request (per configuration version). */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import { waitUntilOf } from '../middleware/wait-until.ts';
import { armOnce } from './scheduler.ts';

/** Arms every service's health-check alarm in the background, once per configuration version; never delays the request. */
export function armHealthChecksOnFirstRequest(): MiddlewareHandler<AppEnv> {
  return async function armHealthChecksOnFirstRequest(c, next) {
    armOnce(c.env, c.get('gateway'), waitUntilOf(c));
    await next();
  };
}
