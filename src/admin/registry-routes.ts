/**
 * @module Admin endpoints of the control plane: services and their instances, routes, the configuration as code,
 * the audit log and the gateway's status. Every change goes through writeRegistry (planned, validated, versioned and audited inside the registry object).
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import packageJson from '../../package.json';
import { ConfigError, formatFieldPath, parseGatewayConfig } from '../config/load.ts';
import type { AuditEntry } from '../../durable-objects/service-registry.ts';
import { configSource, REGISTRY_NAME } from '../control-plane/config-source.ts';
import { originUrlProblem } from '../control-plane/origin-guard.ts';
import { diffConfigs } from '../control-plane/overlay.ts';
import { instanceView, routeView } from '../control-plane/registry-plans.ts';
import { etagOf, writeRegistry } from '../control-plane/registry-writes.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { isolateUptimeSeconds } from '../observability/isolate-uptime.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import {
  AuditEntrySchema,
  ConfigChangeSchema,
  ETagHeader,
  IfMatchHeader,
  InstanceSchema,
  NewRouteSchema,
  problems,
  PutRouteSchema,
  RegisterInstanceSchema,
  RouteParam,
  RouteSchema,
  ServiceParam,
  ServiceSchema,
} from './schemas.ts';

const admin = [{ adminBearer: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

function invalidRequest(path: string, message: string): GatewayError {
  return new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path, message }] } });
}

/** Refuses origin URLs the control plane's guard does not allow (SSRF). */
function guardOrigin(c: { get: (key: 'gateway') => AppEnv['Variables']['gateway'] }, url: string, path = 'url'): void {
  const { allowedOriginHosts, allowPrivateOriginAddresses } = c.get('gateway').config.gateway.controlPlane;
  const problem = originUrlProblem(url, { allowedHosts: allowedOriginHosts, allowPrivateAddresses: allowPrivateOriginAddresses });
  if (problem) throw invalidRequest(path, problem);
}

export function registerRegistryRoutes(api: AdminRouter): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/services',
      operationId: 'listServices',
      tags: ['Registry'],
      summary: 'Services and their instances, as the gateway runs them now',
      security: admin,
      responses: {
        200: { ...json(z.object({ version: z.number().int(), services: z.array(ServiceSchema) }), 'The merged configuration'), headers: ETagHeader },
        ...problems(401, 403),
      },
    }),
    (c) => {
      const source = configSource(c.env);
      const { config } = c.get('gateway');
      c.header('etag', etagOf(source.version));
      return c.json(
        {
          version: source.version,
          services: config.services.map((service) => ({
            name: service.name,
            strategy: service.loadBalancing.strategy,
            routes: service.routes.map((route) => route.id),
            instances: service.instances.map((instance) => instanceView(service, instance, source.overlay)),
          })),
        },
        200,
      );
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/gateway/services/register',
      operationId: 'registerInstance',
      tags: ['Registry'],
      summary: 'Register an instance of a service',
      description: 'The URL must pass the origin guard (http/https, no credentials, allowed hosts, no private addresses unless allowed). Registering the same id with the same URL, weight and metadata again answers 200 with the instance.',
      security: admin,
      request: { headers: IfMatchHeader, body: { required: true, content: { 'application/json': { schema: RegisterInstanceSchema } } } },
      responses: {
        201: { ...json(InstanceSchema, 'The new instance'), headers: ETagHeader },
        200: json(InstanceSchema, 'The instance was already registered exactly so'),
        ...problems(400, 401, 403, 404, 409, 412),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      guardOrigin(c, body.url);
      const { status, body: instance } = await writeRegistry(c, { kind: 'register-instance', ...body });
      if (status === 200) return c.json(instance as z.infer<typeof InstanceSchema>, 200);
      c.header('location', `/gateway/services/${body.service}/${(instance as { id: string }).id}`);
      return c.json(instance as z.infer<typeof InstanceSchema>, 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/gateway/services/{service}/{instanceId}',
      operationId: 'deregisterInstance',
      tags: ['Registry'],
      summary: 'Deregister an instance (registered or deployed)',
      security: admin,
      request: {
        headers: IfMatchHeader,
        params: ServiceParam.extend({ instanceId: z.string().openapi({ param: { name: 'instanceId', in: 'path' }, example: 'samples-3' }) }),
      },
      responses: { 200: { ...json(InstanceSchema, 'The instance that was removed'), headers: ETagHeader }, ...problems(400, 401, 403, 404, 412) },
    }),
    async (c) => {
      const { service: name, instanceId } = c.req.valid('param');
      const { body } = await writeRegistry(c, { kind: 'deregister-instance', service: name, id: instanceId });
      return c.json(body as z.infer<typeof InstanceSchema>, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/routes',
      operationId: 'listRoutes',
      tags: ['Registry'],
      summary: 'Every route, with the service it leads to',
      security: admin,
      responses: { 200: { ...json(z.object({ version: z.number().int(), routes: z.array(RouteSchema) }), 'The routes'), headers: ETagHeader }, ...problems(401, 403) },
    }),
    (c) => {
      const source = configSource(c.env);
      c.header('etag', etagOf(source.version));
      const routes = c.get('gateway').config.services.flatMap((service) => service.routes.map((route) => routeView(service, route, source.overlay)));
      return c.json({ version: source.version, routes }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/routes/{id}',
      operationId: 'getRoute',
      tags: ['Registry'],
      summary: 'One route',
      security: admin,
      request: { params: RouteParam },
      responses: { 200: { ...json(RouteSchema, 'The route'), headers: ETagHeader }, ...problems(401, 403, 404) },
    }),
    (c) => {
      const { id } = c.req.valid('param');
      const source = configSource(c.env);
      for (const service of c.get('gateway').config.services) {
        const route = service.routes.find((r) => r.id === id);
        if (route) {
          c.header('etag', etagOf(source.version));
          return c.json(routeView(service, route, source.overlay), 200);
        }
      }
      throw new GatewayError('resource-not-found', { resource: `route "${id}"` });
    },
  );

  const saveRoute = async (c: Parameters<Parameters<typeof api.openapi>[1]>[0], id: string | undefined, body: z.infer<typeof PutRouteSchema>, mode: 'create' | 'put') => {
    const { status, body: route } = await writeRegistry(c as never, { kind: 'save-route', mode, ...(id ? { id } : {}), body: body as never });
    return { result: route as z.infer<typeof RouteSchema>, created: status === 201 };
  };

  api.openapi(
    createRoute({
      method: 'post',
      path: '/gateway/routes',
      operationId: 'createRoute',
      tags: ['Registry'],
      summary: 'Add a route',
      security: admin,
      request: { headers: IfMatchHeader, body: { required: true, content: { 'application/json': { schema: NewRouteSchema } } } },
      responses: { 201: { ...json(RouteSchema, 'The new route'), headers: ETagHeader }, ...problems(400, 401, 403, 404, 409, 412) },
    }),
    async (c) => {
      const { id, ...body } = c.req.valid('json');
      const { result } = await saveRoute(c, id, body, 'create');
      c.header('location', `/gateway/routes/${result.id}`);
      return c.json(result, 201);
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/gateway/routes/{id}',
      operationId: 'putRoute',
      tags: ['Registry'],
      summary: 'Create or replace a route (idempotent)',
      security: admin,
      request: { headers: IfMatchHeader, params: RouteParam, body: { required: true, content: { 'application/json': { schema: PutRouteSchema } } } },
      responses: {
        200: { ...json(RouteSchema, 'The route was replaced'), headers: ETagHeader },
        201: { ...json(RouteSchema, 'The route was created'), headers: ETagHeader },
        ...problems(400, 401, 403, 404, 412),
      },
    }),
    async (c) => {
      const { result, created } = await saveRoute(c, c.req.valid('param').id, c.req.valid('json'), 'put');
      return created ? c.json(result, 201) : c.json(result, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/gateway/routes/{id}',
      operationId: 'deleteRoute',
      tags: ['Registry'],
      summary: 'Remove a route',
      security: admin,
      request: { headers: IfMatchHeader, params: RouteParam },
      responses: { 200: { ...json(RouteSchema, 'The route that was removed'), headers: ETagHeader }, ...problems(400, 401, 403, 404, 412) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { body } = await writeRegistry(c, { kind: 'delete-route', id });
      return c.json(body as z.infer<typeof RouteSchema>, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/config',
      operationId: 'exportConfig',
      tags: ['Configuration'],
      summary: 'Export the running configuration, in the format of gateway.config.json',
      security: admin,
      responses: { 200: { ...json(z.record(z.string(), z.unknown()), 'The merged configuration'), headers: ETagHeader }, ...problems(401, 403) },
    }),
    (c) => {
      c.header('etag', etagOf(configSource(c.env).version));
      return c.json(c.get('gateway').config as unknown as Record<string, unknown>, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/gateway/config',
      operationId: 'applyConfig',
      tags: ['Configuration'],
      summary: 'Apply a whole configuration (or, with dry_run=1, validate it and show the diff)',
      description: 'The body is a configuration in the format of gateway.config.json. It is validated as a whole and applied in one step: every change, or none.',
      security: admin,
      request: {
        headers: IfMatchHeader,
        query: z.object({ dry_run: z.enum(['0', '1', 'true', 'false']).optional().openapi({ param: { name: 'dry_run', in: 'query' } }) }),
        body: { required: true, content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('GatewayConfiguration') } } },
      },
      responses: {
        200: {
          ...json(z.object({ dryRun: z.boolean(), version: z.number().int(), changes: z.array(ConfigChangeSchema) }), 'The changes (applied, unless a dry run)'),
          headers: ETagHeader,
        },
        ...problems(400, 401, 403, 412),
      },
    }),
    async (c) => {
      const dryRun = ['1', 'true'].includes(c.req.valid('query').dry_run ?? '');
      let desired;
      try {
        desired = parseGatewayConfig(c.req.valid('json'), 'the request body');
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new GatewayError('invalid-configuration', { count: error.issues.length }, {
          extensions: { errors: error.issues.map((issue) => ({ path: issue.slice(0, issue.indexOf(': ')), message: issue.slice(issue.indexOf(': ') + 2) })) },
        });
      }
      const current = c.get('gateway').config;
      for (const [s, service] of desired.services.entries()) {
        for (const [i, instance] of service.instances.entries()) {
          const known = current.services.find((x) => x.name === service.name)?.instances.some((x) => x.id === instance.id && x.url === instance.url);
          if (!known) guardOrigin(c, instance.url, formatFieldPath(['services', s, 'instances', i, 'url']));
        }
      }
      if (dryRun) {
        const source = configSource(c.env);
        c.header('etag', etagOf(source.version));
        return c.json({ dryRun: true, version: source.version, changes: diffConfigs(current, desired) }, 200);
      }
      const { body, version } = await writeRegistry(c, { kind: 'apply-config', desired });
      return c.json({ dryRun: false, version, changes: body as z.infer<typeof ConfigChangeSchema>[] }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/audit',
      operationId: 'listAudit',
      tags: ['Configuration'],
      summary: 'Who changed what, newest first',
      security: admin,
      request: {
        query: z.object({
          limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ param: { name: 'limit', in: 'query' } }),
          before: z.coerce.number().int().min(1).optional().openapi({ param: { name: 'before', in: 'query' }, description: 'Page back from this entry id.' }),
        }),
      },
      responses: { 200: json(z.object({ entries: z.array(AuditEntrySchema) }), 'Audit entries'), ...problems(400, 401, 403, 503) },
    }),
    async (c) => {
      const { limit, before } = c.req.valid('query');
      const entries = await callDurableObject(
        () => c.env.REGISTRY.getByName(REGISTRY_NAME),
        // The entries' before/after are arbitrary JSON, which the RPC types cannot follow.
        (stub) => stub.audit(limit, before) as unknown as Promise<AuditEntry[]>,
        { kind: 'admin', timeoutMs: c.get('gateway').config.gateway.statePlane.callTimeoutMs },
      );
      return c.json({ entries: entries.map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() })) }, 200);
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/health',
      operationId: 'getHealth',
      tags: ['Status'],
      summary: 'Liveness: answers 200 while the gateway serves (no credentials needed, nothing behind it is called)',
      security: [],
      responses: { 200: json(z.object({ status: z.literal('ok'), configVersion: z.number().int() }), 'The gateway is up'), ...problems(400) },
    }),
    (c) => c.json({ status: 'ok' as const, configVersion: configSource(c.env).version }, 200),
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/status',
      operationId: 'getStatus',
      tags: ['Status'],
      summary: 'Version, configuration version, uptime, counts and whether the registry and state plane answer',
      security: admin,
      responses: {
        200: json(
          z.object({
            version: z.string(),
            configVersion: z.number().int(),
            uptimeSeconds: z.number(),
            counts: z.object({ services: z.number().int(), routes: z.number().int(), instances: z.number().int() }),
            registry: z.object({ reachable: z.boolean(), latencyMs: z.number().nullable(), lastCheckedAt: z.string().nullable(), lastError: z.string().nullable(), skippedChanges: z.array(z.string()) }),
            statePlane: z.object({ reachable: z.boolean(), latencyMs: z.number().nullable() }),
          }),
          'Status of this isolate',
        ),
        ...problems(401, 403),
      },
    }),
    async (c) => {
      const source = configSource(c.env);
      const { config } = c.get('gateway');
      const timeoutMs = config.gateway.statePlane.callTimeoutMs;
      const probe = async (call: () => Promise<unknown>) => {
        const started = Date.now();
        try {
          await call();
          return { reachable: true, latencyMs: Date.now() - started };
        } catch {
          return { reachable: false, latencyMs: null };
        }
      };
      const first = c.get('gateway').pools.values().next().value!;
      const [registry, statePlane] = await Promise.all([
        probe(() => callDurableObject(() => c.env.REGISTRY.getByName(REGISTRY_NAME), (stub) => stub.version(), { kind: 'admin', timeoutMs })),
        probe(() => callDurableObject(() => c.env.SERVICE_STATE.getByName(first.service.name), (stub) => stub.status(first.statePolicy, 1), { kind: 'admin', timeoutMs })),
      ]);
      return c.json(
        {
          version: packageJson.version,
          configVersion: source.version,
          uptimeSeconds: isolateUptimeSeconds(Date.now()),
          counts: {
            services: config.services.length,
            routes: config.services.reduce((n, s) => n + s.routes.length, 0),
            instances: config.services.reduce((n, s) => n + s.instances.length, 0),
          },
          registry: {
            ...registry,
            lastCheckedAt: source.checkedAt ? new Date(source.checkedAt).toISOString() : null,
            lastError: source.lastError ?? null,
            skippedChanges: source.skipped,
          },
          statePlane,
        },
        200,
      );
    },
  );
}
