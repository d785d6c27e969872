/** Token introspection (RFC 7662) against the real endpoint of the global setup, through the whole gateway. */
import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../../src/config/schema.ts';
import { gatewayFor, problemType } from '../../support/gateway.ts';
import { AuthServerNamespace, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET } from '../../support/auth-server.ts';

const [echo] = inject('echoOrigins');
let testNumber = 0;
const now = () => Math.floor(Date.now() / 1000);

/** A gateway whose "orders" service validates tokens with its own introspection namespace. */
function setUp(options: { cacheMaxTtlSeconds?: number; negativeCacheTtlSeconds?: number; audience?: string[]; secret?: string } = {}) {
  const server = new AuthServerNamespace(inject('authServer'), `introspection-${++testNumber}`);
  const config: GatewayConfigInput = {
    gateway: {
      auth: {
        introspection: [
          {
            name: 'authsvc',
            url: server.introspectionUrl,
            clientId: INTROSPECTION_CLIENT_ID,
            ...(options.cacheMaxTtlSeconds === undefined ? {} : { cacheMaxTtlSeconds: options.cacheMaxTtlSeconds }),
            ...(options.negativeCacheTtlSeconds === undefined ? {} : { negativeCacheTtlSeconds: options.negativeCacheTtlSeconds }),
            ...(options.audience ? { audience: options.audience } : {}),
          },
        ],
      },
    },
    services: [
      {
        name: 'orders',
        routes: [{ pathPrefix: '/orders' }],
        instances: [{ url: echo! }],
        policies: { auth: { mode: 'introspection', introspection: 'authsvc', rules: [{ pathPrefix: '/orders/admin', roles: ['admin'] }] } },
      },
    ],
  };
  const send = gatewayFor(config, { INTROSPECTION_CLIENT_SECRET: options.secret ?? INTROSPECTION_CLIENT_SECRET });
  const call = (token: string, path = '/orders/1') => send(path, { headers: { authorization: `Bearer ${token}` } });
  return { server, call, send };
}

describe('introspection mode', () => {
  it('lets an active token through and tells the origin who called', async () => {
    const { server, call } = setUp();
    await server.control({ tokens: { 'opaque-1': { active: true, sub: 'bob', scope: 'orders:read', roles: ['clerk'], exp: now() + 600 } } });
    const response = await call('opaque-1');
    expect(response.status).toBe(200);
    const { headers } = (await response.json()) as Echo;
    expect(headers['x-user-id']).toBe('bob');
    expect(headers['x-user-roles']).toBe('clerk');
    expect(headers['x-consumer-id']).toBe('authsvc:bob');
  });

  it('answers 401 invalid_token for an inactive token', async () => {
    const { call } = setUp();
    const response = await call('unknown-token');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('treats an answer whose exp has passed as inactive', async () => {
    const { server, call } = setUp();
    await server.control({ tokens: { old: { active: true, sub: 'bob', exp: now() - 1 } } });
    expect((await call('old')).status).toBe(401);
  });

  it('checks the audience when one is configured', async () => {
    const { server, call } = setUp({ audience: ['orders'] });
    await server.control({ tokens: { mine: { active: true, sub: 'bob', aud: ['orders'] }, theirs: { active: true, sub: 'bob', aud: 'billing' } } });
    expect((await call('mine')).status).toBe(200);
    expect((await call('theirs')).status).toBe(401);
  });

  it('applies route rules to the introspected roles', async () => {
    const { server, call } = setUp();
    await server.control({ tokens: { clerk: { active: true, sub: 'bob', roles: ['clerk'] }, admin: { active: true, sub: 'ann', roles: ['admin'] } } });
    expect((await call('clerk', '/orders/admin/x')).status).toBe(403);
    expect((await call('admin', '/orders/admin/x')).status).toBe(200);
  });

  it('caches an active answer: repeated requests ask the endpoint once', async () => {
    const { server, call } = setUp();
    await server.control({ tokens: { t: { active: true, sub: 'bob', exp: now() + 600 } } });
    for (let i = 0; i < 5; i++) expect((await call('t')).status).toBe(200);
    expect((await server.stats()).introspectRequests).toBe(1);
  });

  it('caches an inactive answer for negativeCacheTtlSeconds', async () => {
    const { server, call } = setUp({ negativeCacheTtlSeconds: 60 });
    for (let i = 0; i < 3; i++) expect((await call('nope')).status).toBe(401);
    expect((await server.stats()).introspectRequests).toBe(1);
  });

  it('does not cache when cacheMaxTtlSeconds is 0, so a revocation at the auth service counts at once', async () => {
    const { server, call } = setUp({ cacheMaxTtlSeconds: 0, negativeCacheTtlSeconds: 0 });
    await server.control({ tokens: { t: { active: true, sub: 'bob' } } });
    expect((await call('t')).status).toBe(200);
    await server.control({ tokens: { t: { active: false } } });
    expect((await call('t')).status).toBe(401);
    expect((await server.stats()).introspectRequests).toBe(2);
  });

  it('answers 503 auth-service-unavailable, not 401, when the endpoint fails', async () => {
    const { server, call } = setUp();
    await server.control({ introspection: 'error' });
    const response = await call('t');
    expect(response.status).toBe(503);
    expect(await problemType(response)).toBe('auth-service-unavailable');
  });

  it('authenticates to the endpoint with the client secret: a wrong secret gets no answer, so 503', async () => {
    const { server, call } = setUp({ secret: 'wrong-secret' });
    await server.control({ tokens: { t: { active: true, sub: 'bob' } } });
    expect((await call('t')).status).toBe(503);
  });

  // Regression: gateway.auth.maxTokenBytes bounded JWTs only; an opaque token of any size up to the header limit
  // was hashed and posted to the endpoint.
  it('refuses a token over gateway.auth.maxTokenBytes (8 KiB) with 401, without calling the endpoint', async () => {
    const { server, call } = setUp();
    const long = 'a'.repeat(8_193);
    await server.control({ tokens: { [long]: { active: true, sub: 'bob' } } });
    const response = await call(long);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await server.stats()).introspectRequests).toBe(0);
  });

  it('asks for a bearer token when none is sent, without calling the endpoint', async () => {
    const { server, send } = setUp();
    const response = await send('/orders/1');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-gateway"');
    expect((await server.stats()).introspectRequests).toBe(0);
  });
});
