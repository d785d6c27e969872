/** @module Background work that outlives the response. */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';

/** `c.executionCtx.waitUntil`, or a no-op where there is no execution context (`app.request()` in tests). */
export function waitUntilOf(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return () => {};
  }
}
