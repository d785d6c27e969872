/** @module The middleware that arms health checks from an isolate's first request (per configuration version). */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import { waitUntilOf } from '../middleware/wait-until.ts';
import { armOnce } from './scheduler.ts';

/** Arms every service's health-check alarm in the background, once per configuration version; never delays the request. */
export function armHealthChecksOnFirstRequest(): MiddlewareHandler<AppEnv> {
  // Not async: after the first request of a configuration version it only passes the request on, so it returns
  // next()'s promise instead of adding an async frame to every request.
  return function armHealthChecksOnFirstRequest(c, next) {
    armOnce(c.env, c.get('gateway'), waitUntilOf(c));
    return next();
  };
}
