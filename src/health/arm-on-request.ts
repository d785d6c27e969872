/** @module Arms health checks from an isolate's first request (per configuration version). */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { armOnce } from './scheduler.ts';

/**
 * Arms every service's health-check alarm in the background, once per configuration version; never delays the
 * request. A step of the edge layer (src/app.ts): health checks run on each service object's alarm, and this arms
 * them where no cron fires (wrangler dev).
 */
export function armHealthChecksOnFirstRequest(c: Context<AppEnv>, waitUntil: (promise: Promise<unknown>) => void): void {
  armOnce(c.env, c.get('gateway'), waitUntil);
}
