/** Issue #8 (5, 6): registry writes under concurrency and retries, If-Match strictness, values refused. */
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { Env } from '../../src/env.ts';
import { adminJson } from '../support/admin-api.ts';
import { asAdmin, send } from '../support/gateway.ts';

const [echo1, echo2] = inject('echoOrigins');

const config: GatewayConfigInput = {
  gateway: { controlPlane: { pollIntervalMs: 500, allowPrivateOriginAddresses: true, allowedOriginHosts: [] } },
  services: [{ name: 'samples', routes: [{ id: 'samples', pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: echo1! }] }],
};

const json = adminJson;

async function listed(): Promise<{ version: number; instances: { id: string; url: string }[] }> {
  const body = (await (await send(config, '/gateway/services', asAdmin())).json()) as { version: number; services: { name: string; instances: { id: string; url: string }[] }[] };
  return { version: body.version, instances: body.services.find((s) => s.name === 'samples')!.instances };
}

/**
 * The registry binding, except that the first `write` call loses its reply: the object applies the write, then the
 * caller sees a retryable error (as when a connection drops after the object answered), and retries.
 */
function losingFirstReply(): { namespace: Env['REGISTRY']; writes: () => number } {
  let writes = 0;
  const namespace = {
    getByName(name: string) {
      const stub = env.REGISTRY.getByName(name);
      return new Proxy(stub, {
        get(target, property) {
          if (property !== 'write') return Reflect.get(target, property);
          return async (request: unknown) => {
            writes += 1;
            const result = await target.write(request as never);
            if (writes === 1) throw Object.assign(new Error('Network connection lost.'), { retryable: true });
            return result;
          };
        },
      });
    },
  } as unknown as Env['REGISTRY'];
  return { namespace, writes: () => writes };
}

describe('writes without If-Match (issue #8, 6)', () => {
  it('applies 20 parallel registrations in order, every one of them, each with its own id', async () => {
    const before = await listed();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send(config, '/gateway/services/register', json('POST', { service: 'samples', url: `${echo2}/parallel/${i}` }))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(20);
    const after = await listed();
    expect(after.version).toBe(before.version + 20);
    expect(after.instances.filter((i) => i.url.includes('/parallel/')).length).toBe(20);
  });

  it('applies a write retried after a lost reply once: one entry, one version, one audit record', async () => {
    const before = await listed();
    const binding = losingFirstReply();
    const response = await send(config, '/gateway/services/register', json('POST', { service: 'samples', url: `${echo2}/retried` }), { REGISTRY: binding.namespace });
    expect(binding.writes()).toBe(2);
    expect(response.status).toBe(201);
    const after = await listed();
    expect(after.instances.filter((i) => i.url.endsWith('/retried')).length).toBe(1);
    expect(after.version).toBe(before.version + 1);
    const audit = (await (await send(config, '/gateway/audit?limit=5', asAdmin())).json()) as { entries: { target: string; after: { url?: string } | null }[] };
    expect(audit.entries.filter((e) => e.after?.url?.endsWith('/retried')).length).toBe(1);
  });

  it('applies a retried route creation once', async () => {
    const binding = losingFirstReply();
    const response = await send(config, '/gateway/routes', json('POST', { service: 'samples', pathPrefix: '/retried-route' }), { REGISTRY: binding.namespace });
    expect(binding.writes()).toBe(2);
    expect(response.status).toBe(201);
    const routes = (await (await send(config, '/gateway/routes', asAdmin())).json()) as { routes: { pathPrefix: string }[] };
    expect(routes.routes.filter((r) => r.pathPrefix === '/retried-route').length).toBe(1);
  });
});

describe('If-Match (issue #8, 6)', () => {
  it('answers a weak entity tag 412: If-Match uses the strong comparison', async () => {
    const { version } = await listed();
    const response = await send(config, '/gateway/services/register', json('POST', { service: 'samples', url: `${echo2}/weak` }, { 'if-match': `W/"${version}"` }));
    expect(response.status).toBe(412);
    expect(((await response.json()) as { type: string }).type).toBe('urn:edge-gateway:problem:precondition-failed');
    expect((await listed()).instances.some((i) => i.url.endsWith('/weak'))).toBe(false);
  });

  it('answers a version out of range 400, naming If-Match', async () => {
    const response = await send(config, '/gateway/services/register', json('POST', { service: 'samples', url: `${echo2}/huge` }, { 'if-match': `"${'9'.repeat(400)}"` }));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { type: string; detail: string; errors: { path: string }[] };
    expect(body.type).toBe('urn:edge-gateway:problem:invalid-request');
    expect(body.errors[0]!.path).toBe('If-Match');
    expect(JSON.stringify(body)).not.toContain('Infinity');
  });

  it('answers 412 only to an If-Match that names another version', async () => {
    const { version } = await listed();
    const stale = await send(config, '/gateway/services/register', json('POST', { service: 'samples', url: `${echo2}/stale` }, { 'if-match': `"${version - 1}"` }));
    expect(stale.status).toBe(412);
    const current = await send(config, '/gateway/services/register', json('POST', { service: 'samples', url: `${echo2}/current` }, { 'if-match': `"${version}"` }));
    expect(current.status).toBe(201);
  });
});

describe('registry values (issue #8, 5)', () => {
  it.each([
    ['a 100 KB URL', `${echo2}/${'a'.repeat(100 * 1024)}`],
    ['a leading space', ` ${echo2}`],
    ['an embedded tab', `${echo2}/a\tb`],
    ['dot segments', `${echo2}/a/../..`],
  ])('refuses an instance URL with %s, and stores nothing', async (_, url) => {
    const before = await listed();
    const response = await send(config, '/gateway/services/register', json('POST', { service: 'samples', url }));
    expect(response.status).toBe(400);
    expect(await listed()).toEqual(before);
  });

  it.each([
    ['a NUL', '/a\u0000b'],
    ['CRLF', '/a\r\nb'],
    ['an emoji', '/caf\u{1F600}'],
    ['100 KB of text', `/${'x'.repeat(100 * 1024)}`],
  ])('refuses a route prefix with %s', async (_, pathPrefix) => {
    const response = await send(config, '/gateway/routes', json('POST', { service: 'samples', pathPrefix }));
    expect(response.status).toBe(400);
    const routes = (await (await send(config, '/gateway/routes', asAdmin())).json()) as { routes: { pathPrefix: string }[] };
    expect(routes.routes.some((r) => r.pathPrefix === pathPrefix)).toBe(false);
  });

  it('refuses, on a dry run too, a configuration holding what the admin API refuses', async () => {
    const exported = (await (await send(config, '/gateway/config', asAdmin())).json()) as { services: { instances: { url: string }[]; routes: { pathPrefix: string }[] }[] };
    const badUrl = structuredClone(exported);
    badUrl.services[0]!.instances[0]!.url = ` ${echo1}/a/../..`;
    const badPrefix = structuredClone(exported);
    badPrefix.services[0]!.routes[0]!.pathPrefix = '/samples\r\n';
    for (const body of [badUrl, badPrefix]) {
      const response = await send(config, '/gateway/config?dry_run=1', json('PUT', body));
      expect(response.status).toBe(400);
      expect(((await response.json()) as { type: string }).type).toBe('urn:edge-gateway:problem:invalid-configuration');
    }
  });
});
