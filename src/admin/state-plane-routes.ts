/**
 * @module Admin endpoints of the state plane: circuit breakers (with reset), load balancing as every isolate
 * shares it, and what the state plane costs in Durable Object round trips.
 */
import { Hono, type Context } from 'hono';
import type { ServicePool } from '../balancing/service-pool.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { callDurableObject } from '../state/call-durable-object.ts';
import type { ServiceStatus } from '../state/service-state-protocol.ts';
import { statePlaneReport } from '../state/state-plane-metrics.ts';

function poolOf(c: Context<AppEnv>, service: string): ServicePool {
  const pool = c.get('gateway').pools.get(service);
  if (!pool) throw new GatewayError('service-not-found', { service });
  return pool;
}

async function statusOf(env: AppEnv['Bindings'], pool: ServicePool, timeoutMs: number): Promise<ServiceStatus> {
  return callDurableObject(
    () => env.SERVICE_STATE.getByName(pool.service.name),
    (stub) => stub.status(pool.statePolicy),
    { kind: 'admin', timeoutMs },
  );
}

export function statePlaneRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/gateway/circuit-breakers', async (c) => {
    const { pools, config } = c.get('gateway');
    const services = await Promise.all(
      [...pools.values()].map(async (pool) => {
        const status = await statusOf(c.env, pool, config.gateway.statePlane.callTimeoutMs);
        return {
          service: pool.service.name,
          breaker: status.breaker,
          events: status.events,
        };
      }),
    );
    return c.json({ services });
  });

  routes.post('/gateway/circuit-breakers/:service/reset', async (c) => {
    const pool = poolOf(c, c.req.param('service'));
    const actor = c.get('identity')?.subject ?? 'an administrator';
    const status = await callDurableObject(
      () => c.env.SERVICE_STATE.getByName(pool.service.name),
      (stub) => stub.reset(pool.statePolicy, actor),
      { kind: 'admin', timeoutMs: c.get('gateway').config.gateway.statePlane.callTimeoutMs },
    );
    // This isolate acts on the reset at once; the others within one sync interval.
    pool.state.probeDeniedUntil = 0;
    pool.state.expire();
    if (pool.state.snapshot) {
      pool.state.apply({ ...pool.state.snapshot, breaker: { state: 'closed', openUntil: 0 }, ejected: {} }, pool, Date.now());
    }
    return c.json({ service: pool.service.name, breaker: status.breaker, instances: status.instances, events: status.events.slice(0, 10) });
  });

  routes.get('/gateway/load-balancing', async (c) => {
    const { pools, config } = c.get('gateway');
    const now = Date.now();
    const services = await Promise.all(
      [...pools.values()].map(async (pool) => {
        const shared = await statusOf(c.env, pool, config.gateway.statePlane.callTimeoutMs);
        return {
          service: pool.service.name,
          strategy: pool.service.loadBalancing.strategy,
          reportingIsolates: shared.reportingIsolates,
          instances: pool.instances.map((instance) => {
            const global = shared.instances.find((entry) => entry.id === instance.id);
            return {
              id: instance.id,
              url: instance.base,
              weight: instance.weight,
              inFlight: { thisIsolate: instance.inFlight, allIsolates: global?.inFlight ?? 0 },
              ewmaMs: global?.rttMs ?? null,
              ejected: (global?.ejectedUntil ?? 0) > now,
              ejectedUntil: global?.ejectedUntil ? new Date(global.ejectedUntil).toISOString() : null,
              timesEjected: global?.timesEjected ?? 0,
              consecutiveFailures: global?.consecutiveFailures ?? 0,
              coolingDownHere: instance.downUntil > now,
            };
          }),
        };
      }),
    );
    return c.json({ services });
  });

  routes.get('/gateway/state-plane', (c) => c.json(statePlaneReport()));

  return routes;
}
