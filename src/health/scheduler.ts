/**
 * @module Keeps every service's health checks scheduled: the cron (once a minute) and each isolate's first request
 * per configuration version hand each service's object its plan, which arms the object's alarm if it is not set.
 * The alarm then re-arms itself at the service's interval, so checks run more often than cron's one minute.
 */
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { Env } from '../env.ts';
import { armAlertEvaluation } from '../alerting/evaluator.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { healthPlanOf } from './health-plan.ts';

export interface ArmOutcome {
  service: string;
  nextCheckAt: number | null;
  error?: string;
}

/** Hands every service's object its plan; one failure does not stop the others. */
export async function armHealthChecks(env: Env, runtime: GatewayRuntime): Promise<ArmOutcome[]> {
  const { config } = runtime;
  return Promise.all(
    config.services.map(async (service): Promise<ArmOutcome> => {
      try {
        const { nextCheckAt } = await callDurableObject(
          () => env.SERVICE_STATE.getByName(service.name),
          (stub) => stub.armHealthChecks(healthPlanOf(service, config.gateway)),
          { kind: 'admin', background: true, timeoutMs: config.gateway.statePlane.callTimeoutMs },
        );
        return { service: service.name, nextCheckAt };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        console.error(JSON.stringify({ level: 'error', event: 'health-arm-failed', service: service.name, error: message }));
        return { service: service.name, nextCheckAt: null, error: message };
      }
    }),
  );
}

/** Configuration versions this isolate has already armed the checks for. */
const armed = new WeakSet<GatewayRuntime>();

/**
 * Arms the checks once per configuration version in this isolate, in the background. This is what makes checks
 * run under `wrangler dev` (`npm start`), which never fires Cron Triggers, and what hands a changed plan (a new
 * instance, a new interval) to the objects without waiting for the next cron.
 */
export function armOnce(env: Env, runtime: GatewayRuntime, waitUntil: (promise: Promise<unknown>) => void): void {
  if (armed.has(runtime)) return;
  armed.add(runtime);
  waitUntil(Promise.all([armHealthChecks(env, runtime), armAlertEvaluation(env, runtime)]));
}
