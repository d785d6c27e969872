/**
 * @module Where the evaluator's readings come from. Traffic figures: the read plane's `windowSummary` RPC on each
 * service's state object (a failing call skips the rule and is counted). State figures: the same object's health
 * records and breaker.
 */
import type { ServicePool } from '../balancing/service-pool.ts';
import type { Env } from '../env.ts';
import type { WindowSummary } from '../observability/window-summary.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import type { ServiceSignals } from './evaluate.ts';

export interface MetricsReader {
  /** The service's traffic over the last `windowSeconds`, or null when it cannot be had. */
  windowSummary(service: string, windowSeconds: number): Promise<WindowSummary | null>;
  /** The service's health and breaker state, or null when its object cannot be reached. */
  signals(pool: ServicePool): Promise<ServiceSignals | null>;
}

/** Counted per isolate, shown by GET /alerts/statistics. */
export const evaluationCounters = { summariesUnavailable: 0, signalsUnavailable: 0 };

/** Reads from the services' state objects. */
export function durableObjectReader(env: Env, timeoutMs: number): MetricsReader {
  return {
    async windowSummary(service, windowSeconds) {
      try {
        return await callDurableObject(
          () => env.SERVICE_STATE.getByName(service),
          (stub) => stub.windowSummary(windowSeconds),
          { kind: 'admin', background: true, timeoutMs },
        );
      } catch (error) {
        evaluationCounters.summariesUnavailable += 1;
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
