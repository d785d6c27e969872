/** The admin API for API keys, and the keys it makes, through the whole gateway with the real Durable Object. */
import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { gatewayFor, problemType } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');
const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

const config: GatewayConfigInput = {
  gateway: { auth: { apiKeys: { cacheTtlSeconds: 0, negativeCacheTtlSeconds: 0 } } },
  services: [
    { name: 'storage', routes: [{ pathPrefix: '/storage' }], instances: [{ url: echo! }], policies: { auth: { mode: 'api-key', rules: [{ methods: ['DELETE'], scopes: ['files:delete'] }] } } },
    { name: 'reports', routes: [{ pathPrefix: '/reports' }], instances: [{ url: echo! }], policies: { auth: { mode: 'api-key' } } },
  ],
};
const send = gatewayFor(config, { ADMIN_TOKEN });
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface Created {
  id: string;
  key: string;
  hint: string;
  name: string;
  consumer: string;
  services: string[];
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

async function create(body: Record<string, unknown>): Promise<Response> {
  return send('/gateway/api-keys', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function createKey(body: Record<string, unknown> = {}): Promise<Created> {
  const response = await create({ name: 'backup job', consumer: 'acme', services: ['storage'], ...body });
  expect(response.status).toBe(201);
  return (await response.json()) as Created;
}

describe('POST /gateway/api-keys', () => {
  it('creates a key and shows it once: 201, a high-entropy egw_ key, Location, no-store', async () => {
    const response = await create({ name: 'backup job', consumer: 'acme', services: ['storage'], scopes: ['files:read'] });
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const created = (await response.json()) as Created;
    expect(created.key).toMatch(/^egw_[A-Za-z0-9_-]{49}$/);
    expect(created).toMatchObject({ name: 'backup job', consumer: 'acme', services: ['storage'], scopes: ['files:read'], revokedAt: null, expiresAt: null });
    expect(created.hint).toBe(created.key.slice(0, 8));
    expect(created.id).toMatch(/^ak_[0-9a-f]{17}$/);
    expect(response.headers.get('location')).toBe(`/gateway/api-keys/${created.id}`);
  });

  it.each([
    [{ consumer: 'acme', services: ['storage'] }, 'name'],
    [{ name: 'x', consumer: 'acme', services: [] }, 'services'],
    [{ name: 'x', consumer: 'a b', services: ['storage'] }, 'consumer'],
    [{ name: 'x', consumer: 'acme', services: ['storage'], scopes: ['a,b'] }, 'scopes[0]'],
    [{ name: 'x', consumer: 'acme', services: ['storage'], expiresAt: 'tomorrow' }, 'expiresAt'],
    [{ name: 'x', consumer: 'acme', services: ['storage'], admin: true }, ''],
    [{ name: 'x', consumer: 'acme', services: ['nope'] }, 'services'],
    [{ name: 'x', consumer: 'acme', services: ['storage'], expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    [{ name: 'x'.repeat(20_000), consumer: 'acme', services: ['storage'] }, 'name'],
  ])('refuses an invalid body %j with 400 invalid-request naming the field', async (body, field) => {
    const response = await create(body);
    expect(response.status).toBe(400);
    expect(await problemType(response)).toBe('invalid-request');
    expect(((await response.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain(field);
  });

  it('refuses malformed JSON with 400, and a body not declared as JSON with 415', async () => {
    const malformed = await send('/gateway/api-keys', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: '{"name":' });
    expect(malformed.status).toBe(400);
    expect(await problemType(malformed)).toBe('invalid-request');
    const undeclared = await send('/gateway/api-keys', { method: 'POST', headers: admin, body: '{"name":"x"}' });
    expect(undeclared.status).toBe(415);
    expect(await problemType(undeclared)).toBe('unsupported-media-type');
  });

  it('needs an admin: 401 without credentials, and nothing is created', async () => {
    const before = ((await (await send('/gateway/api-keys', { headers: admin })).json()) as { keys: unknown[] }).keys.length;
    const response = await send('/gateway/api-keys', { method: 'POST', body: JSON.stringify({ name: 'x', consumer: 'acme', services: ['storage'] }) });
    expect(response.status).toBe(401);
    const after = ((await (await send('/gateway/api-keys', { headers: admin })).json()) as { keys: unknown[] }).keys.length;
    expect(after).toBe(before);
  });
});

describe('GET /gateway/api-keys', () => {
  it('lists keys from every shard without the keys or their hashes', async () => {
    const made = await Promise.all([createKey({ name: 'one' }), createKey({ name: 'two' }), createKey({ name: 'three' })]);
    const response = await send('/gateway/api-keys', { headers: admin });
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const key of made) {
      expect(text).toContain(key.id);
      expect(text).not.toContain(key.key);
    }
    expect(text).not.toMatch(/keyHash|key_hash|"key"/);
  });
});

describe('DELETE /gateway/api-keys/{id}', () => {
  it('revokes a key: 204, the key stops working, and the list shows when it was revoked', async () => {
    const { id, key } = await createKey();
    expect((await send('/storage/a', { headers: { 'x-api-key': key } })).status).toBe(200);
    expect((await send(`/gateway/api-keys/${id}`, { method: 'DELETE', headers: admin })).status).toBe(204);
    expect((await send('/storage/a', { headers: { 'x-api-key': key } })).status).toBe(401);
    const { keys } = (await (await send('/gateway/api-keys', { headers: admin })).json()) as { keys: Created[] };
    expect(keys.find((listed) => listed.id === id)?.revokedAt).toMatch(/^\d{4}-/);
  });

  it('answers 404 resource-not-found for an unknown or malformed id', async () => {
    for (const id of ['ak_00000000000000000', 'nope', '..%2F..']) {
      const response = await send(`/gateway/api-keys/${id}`, { method: 'DELETE', headers: admin });
      expect(response.status).toBe(404);
    }
  });
});

describe('API key authentication', () => {
  it('accepts X-API-Key and Authorization: ApiKey, and tells the origin the consumer', async () => {
    const { key } = await createKey({ consumer: 'acme-backups' });
    for (const headers of [{ 'x-api-key': key }, { authorization: `ApiKey ${key}` }] as Record<string, string>[]) {
      const response = await send('/storage/a', { headers });
      expect(response.status).toBe(200);
      const echoed = (await response.json()) as Echo;
      expect(echoed.headers['x-user-id']).toBe('acme-backups');
      expect(echoed.headers['x-consumer-id']).toBe('api-key:acme-backups');
    }
  });

  it('answers 401 with an ApiKey challenge for an unknown key, a malformed key or none', async () => {
    for (const headers of [{ 'x-api-key': `egw_${'A'.repeat(43)}` }, { 'x-api-key': 'not-a-key' }, {}] as Record<string, string>[]) {
      const response = await send('/storage/a', { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('ApiKey realm="edge-gateway"');
    }
  });

  it('answers 429 too-many-failed-authentications to an address after maxFailuresPerAddress bad keys, before any lookup', async () => {
    const strict = gatewayFor({ ...config, gateway: { auth: { apiKeys: { ...config.gateway!.auth!.apiKeys, maxFailuresPerAddress: 2 } } } }, { ADMIN_TOKEN });
    const { key } = await createKey();
    const from = (address: string, apiKey: string) => strict('/storage/a', { headers: { 'x-api-key': apiKey, 'cf-connecting-ip': address } });
    expect((await from('203.0.113.9', `egw_${'A'.repeat(49)}`)).status).toBe(401); // checksum does not verify
    expect((await from('203.0.113.9', 'not-a-key')).status).toBe(401);
    const refused = await from('203.0.113.9', key);
    expect(refused.status).toBe(429);
    expect(await problemType(refused)).toBe('too-many-failed-authentications');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await from('203.0.113.10', key)).status).toBe(200);
  });

  it('answers 403 for a valid key used on a service it is not scoped to', async () => {
    const { key } = await createKey({ services: ['storage'] });
    const response = await send('/reports/q', { headers: { 'x-api-key': key } });
    expect(response.status).toBe(403);
    expect(await problemType(response)).toBe('forbidden');
  });

  it('applies scope rules to the key\'s scopes', async () => {
    const reader = await createKey({ scopes: ['files:read'] });
    const deleter = await createKey({ scopes: ['files:read', 'files:delete'] });
    expect((await send('/storage/a', { method: 'DELETE', headers: { 'x-api-key': reader.key } })).status).toBe(403);
    expect((await send('/storage/a', { method: 'DELETE', headers: { 'x-api-key': deleter.key } })).status).toBe(200);
  });

  it('refuses two X-API-Key headers with 400', async () => {
    const { key } = await createKey();
    const headers = new Headers();
    headers.append('x-api-key', key);
    headers.append('x-api-key', key);
    expect((await send('/storage/a', { headers })).status).toBe(400);
  });
});
