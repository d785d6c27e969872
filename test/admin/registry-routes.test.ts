import { evictDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { asAdmin, send } from '../support/gateway.ts';
import { adminJson, problemOf, registryConfig, registryVersion } from '../support/admin-api.ts';

const [echo1, echo2, echo3] = inject('echoOrigins');

const config = registryConfig(echo1!, echo2!);

const strict: GatewayConfigInput = { ...config, gateway: { controlPlane: { pollIntervalMs: 500, allowPrivateOriginAddresses: false, allowedOriginHosts: [] } } };

describe('POST /gateway/services/register', () => {
  it('registers an instance, answers with its id, and traffic reaches it', async () => {
    const response = await send(config, '/gateway/services/register', adminJson('POST', { service: 'samples', url: echo3, weight: 1, metadata: { zone: 'eu-1' } }));
    expect(response.status).toBe(201);
    const instance = (await response.json()) as { id: string };
    expect(instance).toEqual({ id: 'samples-2', url: echo3, weight: 1, metadata: { zone: 'eu-1' }, source: 'registry' });
    expect(response.headers.get('etag')).toMatch(/^"\d+"$/);
    expect(response.headers.get('location')).toBe('/gateway/services/samples/samples-2');

    const reached = new Set<string>();
    for (let i = 0; i < 4; i++) reached.add(((await (await send(config, '/samples/x')).json()) as Echo).instance);
    expect(reached).toEqual(new Set(['echo-1', 'echo-3']));
  });

  it.each([
    [{ url: echo2 }, 'service'],
    [{ service: 'samples' }, 'url'],
    [{ service: 'samples', url: echo2, weight: 0 }, 'weight'],
    [{ service: 'samples', url: echo2, weight: 'heavy' }, 'weight'],
    [{ service: 'Samples!', url: echo2 }, 'service'],
    [{ service: 'samples', url: echo2, colour: 'blue' }, ''],
    [{ service: 'samples', url: 'ftp://example.com' }, 'url'],
    [{ service: 'samples', url: 'http://user:pw@example.com' }, 'url'],
  ])('refuses %j with 400, naming the field %s', async (body, path) => {
    const response = await send(config, '/gateway/services/register', adminJson('POST', body));
    expect(response.status).toBe(400);
    const details = await problemOf(response);
    expect(details.type).toBe('urn:edge-gateway:problem:invalid-request');
    expect(details.errors!.map((e) => e.path)).toContain(path);
  });

  it('refuses a malformed JSON body with 400', async () => {
    const response = await send(config, '/gateway/services/register', adminJson('POST', '{"service": '));
    expect(response.status).toBe(400);
    expect((await problemOf(response)).type).toBe('urn:edge-gateway:problem:invalid-request');
  });

  it.each(['http://127.0.0.1:9', 'http://169.254.169.254', 'http://[::1]:8080', 'http://2130706433'])(
    'refuses the private address %s unless the control plane allows private origins',
    async (url) => {
      const response = await send(strict, '/gateway/services/register', adminJson('POST', { service: 'samples', url }));
      expect(response.status).toBe(400);
      expect((await problemOf(response)).errors).toEqual([{ path: 'url', message: expect.stringMatching(/non-public address/) }]);
    },
  );

  it('answers 404 for an unknown service', async () => {
    const response = await send(config, '/gateway/services/register', adminJson('POST', { service: 'nope', url: echo2 }));
    expect(response.status).toBe(404);
    expect((await problemOf(response)).type).toBe('urn:edge-gateway:problem:service-not-found');
  });

  it('is idempotent for the same id and body, and answers 409 for the same id with another body', async () => {
    const body = { service: 'storage', id: 'storage-9', url: echo3, weight: 2 };
    expect((await send(config, '/gateway/services/register', adminJson('POST', body))).status).toBe(201);
    const before = await registryVersion(config);
    expect((await send(config, '/gateway/services/register', adminJson('POST', body))).status).toBe(200);
    expect(await registryVersion(config)).toBe(before);
    const conflict = await send(config, '/gateway/services/register', adminJson('POST', { ...body, weight: 3 }));
    expect(conflict.status).toBe(409);
    expect((await problemOf(conflict)).type).toBe('urn:edge-gateway:problem:resource-exists');
  });

  it('answers 412 when If-Match names a version the registry has moved past, and applies a current one', async () => {
    const current = await registryVersion(config);
    const stale = await send(config, '/gateway/services/register', adminJson('POST', { service: 'storage', url: echo2 }, { 'if-match': `"${current - 1}"` }));
    expect(stale.status).toBe(412);
    expect((await problemOf(stale)).type).toBe('urn:edge-gateway:problem:precondition-failed');
    expect(stale.headers.get('etag')).toBe(`"${current}"`);
    const fresh = await send(config, '/gateway/services/register', adminJson('POST', { service: 'storage', url: echo2 }, { 'if-match': `"${current}"` }));
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get('etag')).toBe(`"${current + 1}"`);
  });
});

describe('DELETE /gateway/services/{service}/{instanceId}', () => {
  it('deregisters an instance, then answers 404 for it', async () => {
    await send(config, '/gateway/services/register', adminJson('POST', { service: 'storage', id: 'storage-gone', url: echo3 }));
    const response = await send(config, '/gateway/services/storage/storage-gone', asAdmin({ method: 'DELETE' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 'storage-gone', source: 'registry' });
    expect((await send(config, '/gateway/services/storage/storage-gone', asAdmin({ method: 'DELETE' }))).status).toBe(404);
  });

  it('refuses to remove the last instance of a service, naming the field, and changes nothing', async () => {
    const { services } = (await (await send(config, '/gateway/services', asAdmin())).json()) as { services: { name: string; instances: { id: string }[] }[] };
    const ids = services.find((s) => s.name === 'samples')!.instances.map((i) => i.id);
    for (const id of ids.slice(1)) expect((await send(config, `/gateway/services/samples/${id}`, asAdmin({ method: 'DELETE' }))).status).toBe(200);
    const before = await registryVersion(config);
    const response = await send(config, `/gateway/services/samples/${ids[0]}`, asAdmin({ method: 'DELETE' }));
    expect(response.status).toBe(400);
    const details = await problemOf(response);
    expect(details.type).toBe('urn:edge-gateway:problem:invalid-configuration');
    expect(details.errors!.map((e) => e.path)).toContain('services[0].instances');
    expect(await registryVersion(config)).toBe(before);
  });
});

describe('routes', () => {
  it('creates, reads, replaces idempotently and deletes a route, and traffic follows', async () => {
    const created = await send(config, '/gateway/routes', adminJson('POST', { id: 'samples-v2', service: 'samples', pathPrefix: '/v2/samples', stripPrefix: true }));
    expect(created.status).toBe(201);
    expect(((await (await send(config, '/v2/samples/7')).json()) as Echo).path).toBe('/7');

    const read = await send(config, '/gateway/routes/samples-v2', asAdmin());
    expect(await read.json()).toMatchObject({ id: 'samples-v2', service: 'samples', pathPrefix: '/v2/samples', source: 'registry' });
    const etag = read.headers.get('etag')!;

    const replaced = await send(config, '/gateway/routes/samples-v2', adminJson('PUT', { service: 'storage', pathPrefix: '/v2/samples' }, { 'if-match': etag }));
    expect(replaced.status).toBe(200);
    const again = await send(config, '/gateway/routes/samples-v2', adminJson('PUT', { service: 'storage', pathPrefix: '/v2/samples' }));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await replaced.clone().json());

    expect((await send(config, '/gateway/routes/samples-v2', asAdmin({ method: 'DELETE' }))).status).toBe(200);
    expect((await send(config, '/v2/samples/7')).status).toBe(404);
    expect((await send(config, '/gateway/routes/samples-v2', asAdmin())).status).toBe(404);
  });

  it('creates a route with PUT on a new id (201)', async () => {
    const response = await send(config, '/gateway/routes/storage-files', adminJson('PUT', { service: 'storage', pathPrefix: '/files' }));
    expect(response.status).toBe(201);
  });

  it.each([
    [{ service: 'samples', pathPrefix: 'no-slash' }, /pathPrefix$/],
    [{ service: 'samples', pathPrefix: '/gateway/x' }, /pathPrefix$/],
    [{ service: 'samples', pathPrefix: '/samples' }, /pathPrefix$/],
  ])('refuses the route %j with 400 invalid-configuration, naming the field', async (body, path) => {
    const response = await send(config, '/gateway/routes', adminJson('POST', body));
    expect(response.status).toBe(400);
    const details = await problemOf(response);
    expect(details.type).toBe('urn:edge-gateway:problem:invalid-configuration');
    expect(details.errors!.map((e) => e.path).some((p) => path.test(p))).toBe(true);
  });

  it('answers 409 to a POST for an existing route id', async () => {
    const response = await send(config, '/gateway/routes', adminJson('POST', { id: 'samples', service: 'samples', pathPrefix: '/elsewhere' }));
    expect(response.status).toBe(409);
  });
});

describe('the registry', () => {
  it('keeps every change and the audit log through an eviction', async () => {
    const stub = env.REGISTRY.getByName('registry');
    const before = await stub.snapshot();
    const audit = await stub.audit(100);
    await evictDurableObject(stub);
    expect(await stub.snapshot()).toEqual(before);
    expect(await stub.audit(100)).toEqual(audit);
  });

  it('reaches a freshly started isolate on its first request', async () => {
    // A configuration text this file has not used yet gets a new ConfigSource: what a new isolate starts with.
    const fresh = { ...config, services: config.services.map((s) => ({ ...s })) };
    const services = (await (await send(fresh, '/gateway/services', asAdmin())).json()) as { services: { name: string; instances: { id: string }[] }[] };
    expect(services.services.find((s) => s.name === 'storage')!.instances.map((i) => i.id)).toContain('storage-9');
  });

  it('reaches a running isolate within the poll interval when another isolate makes the change', async () => {
    await send(config, '/samples/x'); // this isolate is running and up to date
    const stub = env.REGISTRY.getByName('registry');
    const { version: current } = await stub.snapshot();
    // Another isolate's write: straight to the registry, not through this isolate's admin API.
    await stub.apply(current, { routes: [{ id: 'elsewhere', service: 'samples', route: { pathPrefix: '/elsewhere', stripPrefix: false }, deleted: false }] }, {
      actor: 'other-isolate',
      action: 'route.create',
      target: 'routes/elsewhere',
      before: null,
      after: null,
      requestId: null,
    });
    expect((await send(config, '/elsewhere/1')).status).toBe(404);
    const deadline = Date.now() + 500 + 1_000;
    let status = 404;
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await send(config, '/elsewhere/1')).status;
    }
    expect(status).toBe(200);
  });
});
