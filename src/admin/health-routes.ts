/**
 * @module The health endpoints: public summary, liveness and readiness (no topology), and for admins each service's
 * instances, the check history and checks on demand; `GET /services` (services with their health) and the
 * gateway's index at `GET /` when no route claims it.
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import { name as packageName, version as packageVersion } from '../../package.json';
import { configSource, REGISTRY_NAME } from '../control-plane/config-source.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { healthPlanOf } from '../health/health-plan.ts';
import { forgetHealthSummary, gatewayHealth, serviceStatusOf, servicesHealth } from '../health/service-health.ts';
import { requestUrlParts } from '../routing/request-url.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { problems, queryInteger } from './schemas.ts';

const admin = [{ adminBearer: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const ServiceName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);

const SummarySchema = z
  .object({
    status: z.enum(['ok', 'degraded', 'down']),
    services: z.object({ total: z.number().int(), healthy: z.number().int(), degraded: z.number().int(), down: z.number().int(), unknown: z.number().int() }),
    instances: z.object({ total: z.number().int(), healthy: z.number().int(), unhealthy: z.number().int(), unknown: z.number().int() }),
  })
  .openapi('HealthSummary');

const InstanceHealthSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    status: z.enum(['healthy', 'unhealthy', 'unknown']),
    lastCheckAt: z.number().nullable().openapi({ description: 'Epoch ms of the last check' }),
    latencyMs: z.number().nullable(),
    consecutiveFailures: z.number().int(),
    figures: z.record(z.string(), z.number()).openapi({ description: 'Numeric fields of the last JSON health answer (cpu, memory, disk, ...)' }),
  })
  .openapi('InstanceHealth');

const ServiceHealthSchema = z
  .object({ name: z.string(), status: z.enum(['healthy', 'degraded', 'down', 'unknown']), instances: z.array(InstanceHealthSchema) })
  .openapi('ServiceHealth');

const ProbeResultSchema = z
  .object({
    instance: z.string(),
    at: z.number(),
    ok: z.boolean(),
    status: z.number().int().nullable(),
    latencyMs: z.number(),
    error: z.string().nullable(),
    figures: z.record(z.string(), z.number()),
  })
  .openapi('ProbeResult');

const TransitionSchema = z
  .object({ at: z.number(), instance: z.string(), from: z.string(), to: z.string(), reason: z.string() })
  .openapi('HealthTransition');

const HistoryEntrySchema = z
  .object({
    service: z.string(),
    id: z.number().int(),
    at: z.number(),
    instance: z.string(),
    kind: z.enum(['probe', 'transition']),
    ok: z.boolean().nullable(),
    status: z.number().int().nullable(),
    latencyMs: z.number().nullable(),
    error: z.string().nullable(),
    figures: z.record(z.string(), z.number()).nullable(),
    from: z.string().nullable(),
    to: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .openapi('HealthHistoryEntry');

export function registerHealthRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      operationId: 'getGatewayHealth',
      tags: ['Health'],
      summary: 'Public summary: ok, degraded or down, with counts only (503 when down)',
      security: [],
      responses: { 200: json(SummarySchema, 'Serving'), 503: json(SummarySchema, 'Every service is down'), ...problems(400) },
    }),
    async (c) => {
      const summary = await gatewayHealth(c.env, c.get('gateway'));
      c.header('cache-control', 'no-store');
      return summary.status === 'down' ? c.json(summary, 503) : c.json(summary, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/health/live',
      operationId: 'getLiveness',
      tags: ['Health'],
      summary: 'Liveness: answers while the Worker runs; calls nothing',
      security: [],
      responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive'), ...problems(400) },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );

  const ReadySchema = z.object({ status: z.enum(['ready', 'not-ready']), checks: z.object({ configuration: z.boolean(), statePlane: z.boolean() }) });
  api.openapi(
    createRoute({
      method: 'get',
      path: '/health/ready',
      operationId: 'getReadiness',
      tags: ['Health'],
      summary: 'Readiness: the configuration is loaded and the state plane answers (503 otherwise)',
      security: [],
      responses: { 200: json(ReadySchema, 'Ready'), 503: json(ReadySchema, 'Not ready'), ...problems(400) },
    }),
    async (c) => {
      const { config } = c.get('gateway');
      const timeoutMs = config.gateway.statePlane.callTimeoutMs;
      const reach = async (call: () => Promise<unknown>) => call().then(() => true, () => false);
      const first = config.services[0]!;
      const [registry, state] = await Promise.all([
        reach(() => callDurableObject(() => c.env.REGISTRY.getByName(REGISTRY_NAME), (stub) => stub.version(), { kind: 'admin', timeoutMs })),
        reach(() => callDurableObject(() => c.env.SERVICE_STATE.getByName(first.name), (stub) => stub.healthStatus(), { kind: 'admin', timeoutMs })),
      ]);
      // The configuration is loaded once this request has a runtime; it is the registry's live layer that may be missing.
      const checks = { configuration: registry && configSource(c.env).lastError === undefined, statePlane: state };
      c.header('cache-control', 'no-store');
      const ready = checks.configuration && checks.statePlane;
      return ready ? c.json({ status: 'ready' as const, checks }, 200) : c.json({ status: 'not-ready' as const, checks }, 503);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/health/services',
      operationId: 'listServiceHealth',
      tags: ['Health'],
      summary: 'Every service and instance with its active-check health',
      security: admin,
      responses: { 200: json(z.object({ services: z.array(ServiceHealthSchema) }), 'Health per service'), ...problems(401, 403) },
    }),
    async (c) => c.json({ services: await servicesHealth(c.env, c.get('gateway')) }, 200),
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/health/history',
      operationId: 'getHealthHistory',
      tags: ['Health'],
      summary: 'Probe results and transitions, newest first',
      security: admin,
      request: {
        query: z.object({
          service: ServiceName.optional(),
          instance: z.string().min(1).max(63).optional(),
          since: queryInteger(0).optional().openapi({ description: 'Epoch ms' }),
          limit: queryInteger(1, 1000).default(100),
        }),
      },
      responses: { 200: json(z.object({ entries: z.array(HistoryEntrySchema) }), 'History'), ...problems(400, 401, 403, 404) },
    }),
    async (c) => {
      const { service, instance, since, limit } = c.req.valid('query');
      const { config } = c.get('gateway');
      if (service !== undefined && !config.services.some((entry) => entry.name === service)) throw new GatewayError('service-not-found', { service });
      const names = service !== undefined ? [service] : config.services.map((entry) => entry.name);
      const perService = await Promise.all(
        names.map(async (name) => {
          const entries = await callDurableObject(
            () => c.env.SERVICE_STATE.getByName(name),
            (stub) => stub.healthHistory({ instance, since, limit }),
            { kind: 'admin', timeoutMs: config.gateway.statePlane.callTimeoutMs },
          );
          return entries.map((entry) => ({ service: name, ...entry }));
        }),
      );
      const entries = perService.flat().sort((a, b) => b.at - a.at || b.id - a.id).slice(0, limit);
      return c.json({ entries }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/health/check',
      operationId: 'checkHealthNow',
      tags: ['Health'],
      summary: 'Probe now (every service, or the one named) and return the results; they apply to rotation at once',
      security: admin,
      request: { body: { required: false, content: { 'application/json': { schema: z.object({ service: ServiceName.optional() }).strict() } } } },
      responses: {
        200: json(
          z.object({ services: z.array(z.object({ name: z.string(), status: z.enum(['healthy', 'degraded', 'down', 'unknown']), results: z.array(ProbeResultSchema), transitions: z.array(TransitionSchema) })) }),
          'Results per service',
        ),
        ...problems(400, 401, 403, 404, 503),
      },
    }),
    async (c) => {
      const gateway = c.get('gateway');
      const { config } = gateway;
      // A JSON content type counts too: HTTP/2 requests need not carry Content-Length, and the named service must not
      // be ignored (which would probe every service).
      const hasBody = (c.req.header('content-length') ?? '0') !== '0' || c.req.header('transfer-encoding') !== undefined || /json/i.test(c.req.header('content-type') ?? '');
      const body = hasBody ? c.req.valid('json') : {};
      const wanted = body.service;
      if (wanted !== undefined && !gateway.pools.has(wanted)) throw new GatewayError('service-not-found', { service: wanted });
      const pools = [...gateway.pools.values()].filter((pool) => wanted === undefined || pool.service.name === wanted);
      const services = await Promise.all(
        pools.map(async (pool) => {
          const run = await callDurableObject(
            () => c.env.SERVICE_STATE.getByName(pool.service.name),
            (stub) => stub.checkHealthNow(healthPlanOf(pool.service, config.gateway), pool.statePolicy),
            // Probes take up to the check's timeout; the object call must outlast them.
            { kind: 'admin', timeoutMs: pool.service.healthCheck.timeoutMs + config.gateway.statePlane.callTimeoutMs, attempts: 1 },
          );
          // This isolate routes on the results at once; the others within one sync interval.
          pool.state.apply(run.snapshot, pool, Date.now());
          const latest = new Map(run.results.map((result) => [result.instance, result]));
          const status = serviceStatusOf(
            pool.instances.map((instance) => ({ status: run.snapshot.unhealthy?.includes(instance.id) ? 'unhealthy' : latest.has(instance.id) ? 'healthy' : 'unknown' })),
          );
          return { name: pool.service.name, status, results: run.results, transitions: run.transitions };
        }),
      );
      forgetHealthSummary();
      return c.json({ services }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/services',
      operationId: 'listServicesWithHealth',
      tags: ['Health'],
      summary: 'The services with their routes and health',
      security: admin,
      responses: {
        200: json(
          z.object({ services: z.array(ServiceHealthSchema.extend({ routes: z.array(z.object({ id: z.string(), pathPrefix: z.string() })) })) }),
          'Services',
        ),
        ...problems(401, 403),
      },
    }),
    async (c) => {
      const { config } = c.get('gateway');
      const health = await servicesHealth(c.env, c.get('gateway'));
      const services = health.map((service) => ({
        ...service,
        routes: config.services.find((entry) => entry.name === service.name)!.routes.map((route) => ({ id: route.id, pathPrefix: route.pathPrefix })),
      }));
      return c.json({ services }, 200);
    },
  );

  // The gateway's index, only where no route claims "/" (a catch-all route keeps it).
  api.get('/', async (c, next) => {
    const lookup = c.get('gateway').router.match(c.req.method, requestUrlParts(c.req.url).hostname, '/');
    if (lookup.kind !== 'not-found') return next();
    return c.json({ name: packageName, version: packageVersion, links: { health: '/health', docs: '/docs', openapi: '/openapi.json' } }, 200);
  });
}
