/**
 * @module Where the evaluator's readings come from. Traffic figures: the read plane's `windowSummary` RPC on each
 * service's state object (a missing method, or a failing call, skips the rule and is counted). State figures:
 * the same object's health records and breaker.
 */
import type { ServicePool } from '../balancing/service-pool.ts';
import type { Env } from '../env.ts';
import type { WindowSummary } from '../observability/window-summary.ts';
import { callDurableObject } from '../state/call-durable-object.ts';
import type { ServiceSignals } from './evaluate.ts';

export interface MetricsReader {
  /** The service's traffic over the last `windowSeconds`, or null when it cannot be had. */
  windowSummary(service: string, windowSeconds: number): Promise<WindowSummary | null>;
  /** The service's health and breaker state, or null when its object cannot be reached. */
  signals(pool: ServicePool): Promise<ServiceSignals | null>;
}

/** Counted per isolate, shown by GET /alerts/statistics. */
export const evaluationCounters = { summariesUnavailable: 0, signalsUnavailable: 0 };

/** The object's RPC surface as the read plane adds it; typed here so this branch compiles without it. */
interface WindowSummarySource {
  windowSummary(windowSeconds: number): Promise<WindowSummary>;
}

/**
 * Until when this isolate takes the read plane's `windowSummary` for missing, after the object said it does not
 * implement it (a deployment without the read plane): the rules are skipped and counted without calling again.
 */
let summariesMissingUntil = 0;
const MISSING_RECHECK_MS = 5 * 60_000;

/** Reads from the services' state objects. */
export function durableObjectReader(env: Env, timeoutMs: number): MetricsReader {
  return {
    async windowSummary(service, windowSeconds) {
      if (Date.now() < summariesMissingUntil) {
        evaluationCounters.summariesUnavailable += 1;
        return null;
      }
      try {
        return await callDurableObject(
          () => env.SERVICE_STATE.getByName(service) as unknown as WindowSummarySource,
          (stub) => stub.windowSummary(windowSeconds),
          { kind: 'admin', background: true, timeoutMs },
        );
      } catch (error) {
        evaluationCounters.summariesUnavailable += 1;
        if (/does not implement/i.test(String((error as Error)?.message))) summariesMissingUntil = Date.now() + MISSING_RECHECK_MS;
        console.warn(JSON.stringify({ level: 'warn', event: 'alert-rule-skipped', service, reason: 'window summary unavailable', error: String((error as Error)?.message ?? error) }));
        return null;
      }
    },
    async signals(pool) {
      try {
        const [health, status] = await Promise.all([
          callDurableObject(() => env.SERVICE_STATE.getByName(pool.service.name), (stub) => stub.healthStatus(), { kind: 'admin', background: true, timeoutMs }),
          callDurableObject(() => env.SERVICE_STATE.getByName(pool.service.name), (stub) => stub.status(pool.statePolicy, 0), { kind: 'admin', background: true, timeoutMs }),
        ]);
        const originFigures: Record<string, number> = {};
        for (const instance of health.instances) {
          for (const [name, value] of Object.entries(instance.figures)) originFigures[name] = Math.max(originFigures[name] ?? -Infinity, value);
        }
        return {
          unhealthyInstances: health.instances.filter((instance) => instance.status === 'unhealthy').length,
          breakerOpen: status.breaker?.state === 'open',
          originFigures,
        };
      } catch {
        evaluationCounters.signalsUnavailable += 1;
        return null;
      }
    },
  };
}
