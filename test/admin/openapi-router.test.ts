/** OpenApiRouter: route definitions validated with their zod schemas at run time, as @hono/zod-openapi does. */
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createRoute, OpenApiRouter } from '../../src/admin/openapi-router.ts';

const Body = z.object({ name: z.string().min(1) }).openapi('Thing');

function router(bodyRequired: boolean) {
  const api = new OpenApiRouter({
    defaultHook: (result, c) => {
      if (!result.success) return c.json({ target: result.target, paths: result.error.issues.map((issue) => issue.path.join('.')) }, 422);
    },
  });
  api.openapi(
    createRoute({
      method: 'post',
      path: '/things/{id}',
      request: {
        params: z.object({ id: z.string().regex(/^\d+$/) }),
        query: z.object({ dryRun: z.enum(['true', 'false']).optional() }),
        body: { required: bodyRequired, content: { 'application/json': { schema: Body } } },
      },
      responses: { 200: { description: 'ok' } },
    }),
    (c) => c.json({ id: c.req.valid('param').id, body: c.req.valid('json'), query: c.req.valid('query') }, 200),
  );
  return api;
}

const post = (api: OpenApiRouter, path: string, init: RequestInit = {}) => api.request(`http://gateway.test${path}`, { method: 'POST', ...init });
const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('OpenApiRouter', () => {
  it('hands the handler the validated path parameter, query and JSON body', async () => {
    const response = await post(router(true), '/things/42?dryRun=true', json({ name: 'a' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: '42', body: { name: 'a' }, query: { dryRun: 'true' } });
  });

  it('reports each invalid part to the default hook, path parameters before the body', async () => {
    const badParam = await post(router(true), '/things/x', json({ name: 'a' }));
    expect(badParam.status).toBe(422);
    expect(await badParam.json()).toEqual({ target: 'param', paths: ['id'] });
    const badBody = await post(router(true), '/things/1', json({ name: '' }));
    expect(await badBody.json()).toEqual({ target: 'json', paths: ['name'] });
    const badQuery = await post(router(true), '/things/1?dryRun=maybe', json({ name: 'a' }));
    expect(await badQuery.json()).toEqual({ target: 'query', paths: ['dryRun'] });
  });

  it('answers 415 for a body of an undeclared media type, or a body without Content-Type', async () => {
    expect((await post(router(true), '/things/1', { body: 'name=a', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await post(router(false), '/things/1', { body: new TextEncoder().encode('{"name":"a"}') })).status).toBe(415);
  });

  it('gives an optional body that is absent to the handler as {}, and still validates one that is sent', async () => {
    const absent = await post(router(false), '/things/7');
    expect(absent.status).toBe(200);
    expect(((await absent.json()) as { body: unknown }).body).toEqual({});
    expect((await post(router(false), '/things/7', json({ name: '' }))).status).toBe(422);
  });

  it('keeps `.openapi()` a no-op at run time: the schema validates exactly as without it', () => {
    const plain = z.object({ name: z.string().min(1) });
    expect(Body.safeParse({ name: '' }).success).toBe(plain.safeParse({ name: '' }).success);
    expect(Body.parse({ name: 'a', extra: 1 })).toEqual(plain.parse({ name: 'a', extra: 1 }));
  });

  it('runs a route\'s own middleware before validation, and its own hook instead of the default', async () => {
    const api = new OpenApiRouter({ defaultHook: (_result, c) => c.json({ from: 'default' }, 422) });
    api.openapi(
      createRoute({
        method: 'get',
        path: '/items/{id}',
        middleware: [async (c, next) => { c.header('x-route-middleware', 'ran'); await next(); }] as const,
        request: { params: z.object({ id: z.string().regex(/^\d+$/) }) },
        responses: { 200: { description: 'ok' } },
      }),
      (c) => c.json({ id: c.req.valid('param').id }, 200),
      (result, c) => {
        if (!result.success) return c.json({ from: 'route' }, 400);
      },
    );
    const refused = await api.request('http://gateway.test/items/x');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ from: 'route' });
    expect(refused.headers.get('x-route-middleware')).toBe('ran');
    expect((await api.request('http://gateway.test/items/5')).status).toBe(200);
  });
});
