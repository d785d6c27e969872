/**
 * @module Admin endpoints of the registry: services and their instances, and routes. Every change goes through
 * writeRegistry (planned, validated, versioned and audited inside the registry object).
 */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import { configSource } from '../control-plane/config-source.ts';
import { instanceView, routeView } from '../control-plane/registry-plans.ts';
import { etagOf, writeRegistry } from '../control-plane/registry-writes.ts';
import { GatewayError } from '../errors/problem.ts';
import { guardOrigin } from './guard-origin.ts';
import {
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

/** Services, instances and routes (tag Registry). */
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
}
