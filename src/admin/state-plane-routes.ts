/**
 * @module Admin endpoints of the state plane: circuit breakers (with reset), load balancing as every isolate
 * shares it, and what the state plane costs in Durable Object round trips.
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import type { Context } from 'hono';
import type { ServicePool } from '../balancing/service-pool.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import type { ServiceStatus } from '../state/protocol/service-state-protocol.ts';
import { statePlaneReport } from '../state/infra/state-plane-metrics.ts';
import { actorOf } from '../control-plane/registry-writes.ts';
import { problems, ServiceParam } from './schemas.ts';
import { concurrencyGateOf, type ConcurrencyGate } from '../policies/concurrency-limit.ts';
import { waitingAttempts } from '../proxy/waiting-attempts.ts';

const concurrencyView = (gate: ConcurrencyGate | undefined) => (gate ? { inFlight: gate.inFlight, queued: gate.queued } : null);

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

const admin = [{ adminBearer: [] }];

const BreakerSchema = z
  .object({
    enabled: z.boolean(),
    state: z.enum(['closed', 'open', 'half-open']),
    since: z.number(),
    openUntil: z.number(),
    openCount: z.number().int(),
    calls: z.number().int(),
    failures: z.number().int(),
    failureRate: z.number(),
    consecutiveFailures: z.number().int(),
  })
  .openapi('CircuitBreaker');

const EventSchema = z
  .object({ at: z.number(), kind: z.string().openapi({ example: 'breaker-opened' }), instance: z.string().nullable(), detail: z.string() })
  .openapi('StateEvent');

export function registerStatePlaneRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/circuit-breakers',
      operationId: 'listCircuitBreakers',
      tags: ['State plane'],
      summary: "Each service's circuit breaker and its recent events",
      security: admin,
      responses: {
        200: {
          description: 'Breakers (null for services without one)',
          content: { 'application/json': { schema: z.object({ services: z.array(z.object({ service: z.string(), breaker: BreakerSchema.nullable(), events: z.array(EventSchema) })) }) } },
        },
        ...problems(401, 403, 503),
      },
    }),
    async (c) => {
      const { pools, config } = c.get('gateway');
      const services = await Promise.all(
        [...pools.values()].map(async (pool) => {
          const status = await statusOf(c.env, pool, config.gateway.statePlane.callTimeoutMs);
          return { service: pool.service.name, breaker: status.breaker, events: status.events };
        }),
      );
      return c.json({ services }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/gateway/circuit-breakers/{service}/reset',
      operationId: 'resetCircuitBreaker',
      tags: ['State plane'],
      summary: 'Close a breaker and return every ejected instance of the service',
      security: admin,
      request: { params: ServiceParam },
      responses: {
        200: {
          description: 'The service after the reset',
          content: {
            'application/json': {
              schema: z.object({ service: z.string(), breaker: BreakerSchema.nullable(), instances: z.array(z.record(z.string(), z.unknown())), events: z.array(EventSchema) }),
            },
          },
        },
        ...problems(401, 403, 404, 503),
      },
    }),
    async (c) => {
      const pool = poolOf(c, c.req.valid('param').service);
      const status = await callDurableObject(
        () => c.env.SERVICE_STATE.getByName(pool.service.name),
        (stub) => stub.reset(pool.statePolicy, actorOf(c)),
        { kind: 'admin', timeoutMs: c.get('gateway').config.gateway.statePlane.callTimeoutMs },
      );
      // This isolate acts on the reset at once; the others within one sync interval.
      pool.state.probeDeniedUntil = 0;
      pool.state.expire();
      if (pool.state.snapshot) {
        pool.state.apply({ ...pool.state.snapshot, breaker: { state: 'closed', openUntil: 0 }, ejected: {} }, pool, Date.now());
      }
      return c.json(
        { service: pool.service.name, breaker: status.breaker, instances: status.instances as unknown as Record<string, unknown>[], events: status.events.slice(0, 10) },
        200,
      );
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/load-balancing',
      operationId: 'getLoadBalancing',
      tags: ['State plane'],
      summary: 'Per instance: requests in flight (here and everywhere), latency, ejection; per service: the strategy',
      security: admin,
      responses: { 200: { description: 'Load balancing state', content: { 'application/json': { schema: z.object({ services: z.array(z.record(z.string(), z.unknown())) }) } } }, ...problems(401, 403, 503) },
    }),
    async (c) => {
      const { pools, config } = c.get('gateway');
      const now = Date.now();
      // Counts held by attempts the runtime dropped are given back first, so an idle isolate reports them too.
      waitingAttempts.sweep(now);
      const services = await Promise.all(
        [...pools.values()].map(async (pool) => {
          const shared = await statusOf(c.env, pool, config.gateway.statePlane.callTimeoutMs);
          return {
            service: pool.service.name,
            strategy: pool.service.loadBalancing.strategy,
            reportingIsolates: shared.reportingIsolates,
            // This isolate's concurrency gate: slots held and requests waiting (absent until first used).
            concurrency: concurrencyView(concurrencyGateOf(pool.service.name)),
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
      return c.json({ services }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/state-plane',
      operationId: 'getStatePlane',
      tags: ['State plane'],
      summary: "This isolate's Durable Object round trips, failures and fail-open/fail-closed decisions",
      security: admin,
      responses: { 200: { description: 'Counters since the isolate started', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } }, ...problems(401, 403) },
    }),
    (c) => c.json(statePlaneReport() as unknown as Record<string, unknown>, 200),
  );
}
