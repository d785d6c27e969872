/** @module Each service's health as the endpoints report it: the object's per-instance records over the configured instances. */
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { Env } from '../env.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import type { InstanceHealthView, ServiceHealthView } from './health-monitor.ts';

export type ServiceHealthStatus = 'healthy' | 'degraded' | 'down' | 'unknown';

export interface ServiceHealth {
  name: string;
  status: ServiceHealthStatus;
  instances: InstanceHealthView[];
}

/**
 * healthy: no instance unhealthy (some may be unchecked yet); degraded: some unhealthy; down: all unhealthy;
 * unknown: nothing checked yet, or the service's object could not be reached.
 */
export function serviceStatusOf(instances: readonly Pick<InstanceHealthView, 'status'>[]): ServiceHealthStatus {
  const unhealthy = instances.filter((instance) => instance.status === 'unhealthy').length;
  if (instances.length === 0 || instances.every((instance) => instance.status === 'unknown')) return 'unknown';
  if (unhealthy === instances.length) return 'down';
  return unhealthy > 0 ? 'degraded' : 'healthy';
}

/** Every configured service with its instances' health; instances the object has no record of are unknown. */
export async function servicesHealth(env: Env, runtime: GatewayRuntime): Promise<ServiceHealth[]> {
  const { config } = runtime;
  return Promise.all(
    config.services.map(async (service): Promise<ServiceHealth> => {
      let view: ServiceHealthView | undefined;
      try {
        view = await callDurableObject(() => env.SERVICE_STATE.getByName(service.name), (stub) => stub.healthStatus(), {
          kind: 'admin',
          timeoutMs: config.gateway.statePlane.callTimeoutMs,
        });
      } catch {
        view = undefined;
      }
      const instances = service.instances.map((instance): InstanceHealthView => {
        const known = view?.instances.find((entry) => entry.id === instance.id);
        return known
          ? { ...known, url: instance.url }
          : { id: instance.id, url: instance.url, status: 'unknown', lastCheckAt: null, latencyMs: null, consecutiveFailures: 0, figures: {} };
      });
      return { name: service.name, status: view ? serviceStatusOf(instances) : 'unknown', instances };
    }),
  );
}

export interface GatewayHealthSummary {
  status: 'ok' | 'degraded' | 'down';
  services: { total: number; healthy: number; degraded: number; down: number; unknown: number };
  instances: { total: number; healthy: number; unhealthy: number; unknown: number };
}

/** The public summary: counts only. Down when every service is down; degraded when any is down or degraded. */
export function summarise(services: readonly ServiceHealth[]): GatewayHealthSummary {
  const count = (status: ServiceHealthStatus) => services.filter((service) => service.status === status).length;
  const instances = services.flatMap((service) => service.instances);
  const countInstances = (status: InstanceHealthView['status']) => instances.filter((instance) => instance.status === status).length;
  const down = count('down');
  const degraded = count('degraded');
  return {
    status: services.length > 0 && down === services.length ? 'down' : down + degraded > 0 ? 'degraded' : 'ok',
    services: { total: services.length, healthy: count('healthy'), degraded, down, unknown: count('unknown') },
    instances: { total: instances.length, healthy: countInstances('healthy'), unhealthy: countInstances('unhealthy'), unknown: countInstances('unknown') },
  };
}

/** The public summary is cached per isolate for this long, so `/health` cannot be used to hammer the objects. */
export const SUMMARY_CACHE_MS = 2_000;
let cached: { runtime: GatewayRuntime; at: number; summary: GatewayHealthSummary } | undefined;

export async function gatewayHealth(env: Env, runtime: GatewayRuntime, now = Date.now()): Promise<GatewayHealthSummary> {
  if (cached && cached.runtime === runtime && now - cached.at < SUMMARY_CACHE_MS) return cached.summary;
  const summary = summarise(await servicesHealth(env, runtime));
  cached = { runtime, at: now, summary };
  return summary;
}

/** Forgets the cached summary (after an operator's check, whose results apply at once). */
export function forgetHealthSummary(): void {
  cached = undefined;
}
