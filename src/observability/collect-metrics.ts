/**
 * @module Gathers the read plane's global figures for every configured service from its state object: traffic
 * sums (cumulative and per minute) and the breaker and instance state. Admin path only: one pair of calls per
 * service per scrape, never per proxied request.
 */
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { Env } from '../env.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import type { ServiceStatus } from '../state/protocol/service-state-protocol.ts';
import type { TrafficSeries } from './service-traffic.ts';

export interface ServiceFigures {
  service: string;
  /** The service's configured instance ids, in order. */
  instances: string[];
  hasBreaker: boolean;
  traffic: TrafficSeries;
  status: ServiceStatus;
  /** Instances the health plane's active checks hold unhealthy (out of rotation until they pass again). */
  failingChecks: string[];
}

export interface CollectedMetrics {
  at: number;
  services: ServiceFigures[];
  /** Services whose object did not answer; their figures are missing from this answer. */
  unavailable: string[];
}

export async function collectMetrics(env: Env, gateway: GatewayRuntime, rangeMinutes: number): Promise<CollectedMetrics> {
  const timeoutMs = gateway.config.gateway.statePlane.callTimeoutMs;
  const unavailable: string[] = [];
  const results = await Promise.all(
    [...gateway.pools.values()].map(async (pool): Promise<ServiceFigures | undefined> => {
      const stub = () => env.SERVICE_STATE.getByName(pool.service.name);
      try {
        const [traffic, status, health] = await Promise.all([
          callDurableObject(stub, (s) => s.trafficSeries(rangeMinutes), { kind: 'admin', timeoutMs }),
          callDurableObject(stub, (s) => s.status(pool.statePolicy, 0), { kind: 'admin', timeoutMs }),
          callDurableObject(stub, (s) => s.healthStatus(), { kind: 'admin', timeoutMs }),
        ]);
        return {
          service: pool.service.name,
          instances: pool.statePolicy.instances,
          hasBreaker: pool.statePolicy.breaker !== undefined,
          // The object may not know its name yet (no traffic): the configuration does.
          traffic: { ...traffic, service: pool.service.name },
          status,
          failingChecks: health.instances.filter((instance) => instance.status === 'unhealthy').map((instance) => instance.id),
        };
      } catch {
        unavailable.push(pool.service.name);
        return undefined;
      }
    }),
  );
  return { at: Date.now(), services: results.filter((figures) => figures !== undefined), unavailable };
}

/** The breaker as a state name at `now` (an open breaker past its wait time admits probes: half-open). */
export function breakerStateOf(figures: ServiceFigures, now: number): 'closed' | 'open' | 'half-open' | 'disabled' {
  const breaker = figures.status.breaker;
  if (!figures.hasBreaker || !breaker) return 'disabled';
  if (breaker.state === 'open' && breaker.openUntil <= now) return 'half-open';
  return breaker.state;
}

/**
 * Whether an instance can take traffic now: its active health checks do not hold it unhealthy, it is not ejected
 * (passive outlier detection), and the service's breaker is not open.
 */
export function instanceHealthy(figures: ServiceFigures, instance: string, now: number): boolean {
  const status = figures.status.instances.find((entry) => entry.id === instance);
  const ejected = (status?.ejectedUntil ?? 0) > now;
  return !ejected && !figures.failingChecks.includes(instance) && breakerStateOf(figures, now) !== 'open';
}
