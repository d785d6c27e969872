/**
 * Authentication end to end: the real gateway under `wrangler dev` (secrets passed as vars, the API key Durable
 * Object in local storage), a real introspection endpoint, echo origins that show what the gateway forwarded, and
 * requests sent raw so paths and headers arrive exactly as an attacker writes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoOrigin, type Echo, type EchoOrigin } from '../../scripts/demo-origins.ts';
import { AuthServerNamespace, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { claimsAt, hmacToken } from '../support/tokens.ts';
import { rawRequest, startGateway, type RunningGateway } from './harness.ts';

const JWT_SECRET = 'e2e-jwt-secret-0123456789abcdef0123456789';
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

let gateway: RunningGateway;
let authOrigin: EchoOrigin;
let adminOrigin: EchoOrigin;
let storageOrigin: EchoOrigin;
let authServer: AuthServer;
let introspection: AuthServerNamespace;
/** Paths each echo origin received, in order. */
const received = new Map<string, string[]>();
const receivedBy = (origin: EchoOrigin) => received.get(origin.service)!;

beforeAll(async () => {
  [authOrigin, adminOrigin, storageOrigin, authServer] = await Promise.all([
    startEchoOrigin({ service: 'auth', instance: 'auth-1' }),
    startEchoOrigin({ service: 'admin', instance: 'admin-1' }),
    startEchoOrigin({ service: 'storage', instance: 'storage-1' }),
    startAuthServer(),
  ]);
  for (const origin of [authOrigin, adminOrigin, storageOrigin]) {
    const paths: string[] = [];
    received.set(origin.service, paths);
    origin.server.on('request', (req: { url?: string }) => paths.push(req.url ?? ''));
  }
  introspection = new AuthServerNamespace(authServer.url, 'e2e-authentication');
  gateway = await startGateway(
    {
      gateway: {
        auth: {
          issuers: [{ name: 'local', issuer: 'edge-gateway-dev', kind: 'secret', audience: ['edge-gateway'] }],
          introspection: [{ name: 'authsvc', url: introspection.introspectionUrl, clientId: INTROSPECTION_CLIENT_ID }],
          apiKeys: { cacheTtlSeconds: 0, negativeCacheTtlSeconds: 0 },
        },
      },
      services: [
        {
          name: 'auth',
          routes: [{ pathPrefix: '/auth', rewritePrefix: '/api/v1/auth' }],
          instances: [{ url: authOrigin.url }],
          policies: { auth: { publicPaths: ['/auth/login', '/auth/register'] } },
        },
        {
          name: 'admin',
          routes: [{ pathPrefix: '/admin' }],
          instances: [{ url: adminOrigin.url }],
          policies: { auth: { rules: [{ roles: ['admin'] }] } },
        },
        {
          name: 'storage',
          routes: [{ pathPrefix: '/storage' }],
          instances: [{ url: storageOrigin.url }],
          policies: { auth: { mode: 'jwt-or-api-key' } },
        },
        {
          name: 'orders',
          routes: [{ pathPrefix: '/orders' }],
          instances: [{ url: storageOrigin.url }],
          policies: { auth: { mode: 'introspection', introspection: 'authsvc' } },
        },
        { name: 'open', routes: [{ pathPrefix: '/open' }], instances: [{ url: storageOrigin.url }] },
      ],
    },
    { JWT_SECRET, ADMIN_TOKEN, INTROSPECTION_CLIENT_SECRET },
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([authOrigin, adminOrigin, storageOrigin, authServer].map((server) => server?.close()));
});

const now = () => Math.floor(Date.now() / 1000);
const token = (overrides: Record<string, unknown> = {}) => hmacToken({ ...claimsAt(now()), iss: 'edge-gateway-dev', aud: 'edge-gateway', ...overrides }, JWT_SECRET);
const bearer = async (overrides: Record<string, unknown> = {}) => ({ authorization: `Bearer ${await token(overrides)}` });

describe('JWT bearer authentication over real HTTP', () => {
  it('lets a valid token through and tells the origin who called', async () => {
    const response = await rawRequest(gateway.url, '/storage/files/1', { headers: await bearer({ roles: ['editor', 'viewer'] }) });
    expect(response.status).toBe(200);
    const { headers } = response.json<Echo>();
    expect(headers['x-user-id']).toBe('alice');
    expect(headers['x-user-roles']).toBe('editor,viewer');
    expect(headers['x-consumer-id']).toBe('local:alice');
  });

  it('answers 401 with an RFC 6750 challenge and a problem body without credentials', async () => {
    const response = await rawRequest(gateway.url, '/storage/files/1');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="edge-gateway", ApiKey realm="edge-gateway"');
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:unauthorized', status: 401 });
  });

  it('answers 400 to two Authorization header lines, even when both carry a valid token', async () => {
    const valid = `Bearer ${await token()}`;
    const response = await rawRequest(gateway.url, '/storage/files/1', { headers: { authorization: [valid, valid] } });
    expect(response.status).toBe(400);
    expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
  });

  it('answers 403 when a route needs a role the token lacks', async () => {
    expect((await rawRequest(gateway.url, '/admin/users', { headers: await bearer({ roles: ['editor'] }) })).status).toBe(403);
    expect((await rawRequest(gateway.url, '/admin/users', { headers: await bearer({ roles: ['admin'] }) })).status).toBe(200);
  });

  it('validates opaque tokens with the introspection endpoint', async () => {
    await introspection.control({ tokens: { 'opaque-e2e': { active: true, sub: 'svc-billing', scope: 'orders:read', exp: now() + 600 } } });
    const ok = await rawRequest(gateway.url, '/orders/7', { headers: { authorization: 'Bearer opaque-e2e' } });
    expect(ok.status).toBe(200);
    expect(ok.json<Echo>().headers['x-consumer-id']).toBe('authsvc:svc-billing');
    expect((await rawRequest(gateway.url, '/orders/7', { headers: { authorization: 'Bearer revoked-or-unknown' } })).status).toBe(401);
  });
});

describe('identity header spoofing, as the origin sees it', () => {
  const spoofed = {
    'x-user-id': 'root',
    'x-user-roles': 'admin',
    'x-consumer-id': 'local:root',
    'true-client-ip': '6.6.6.6',
    'x-real-ip': '6.6.6.6',
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '1',
    forwarded: 'for=6.6.6.6',
  };

  it('replaces every client-sent identity and address header on an authenticated request', async () => {
    const response = await rawRequest(gateway.url, '/storage/x', { headers: { ...spoofed, ...(await bearer()) } });
    const { headers } = response.json<Echo>();
    expect(headers['x-user-id']).toBe('alice');
    expect(headers['x-user-roles']).toBeUndefined(); // alice has no roles: no header rather than the client's
    expect(headers['x-consumer-id']).toBe('local:alice');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-host']).toBe(`127.0.0.1:${gateway.port}`);
    expect(headers['x-forwarded-proto']).toBe('http');
    for (const name of ['true-client-ip', 'x-real-ip', 'x-forwarded-port']) expect(headers[name], name).toBeUndefined();
    expect(JSON.stringify(headers)).not.toContain('6.6.6.6');
    expect(JSON.stringify(headers)).not.toContain('evil.example');
  });

  it('removes them from anonymous requests to public paths and open services', async () => {
    for (const path of ['/auth/login', '/open/x']) {
      const { headers } = (await rawRequest(gateway.url, path, { method: 'POST', headers: spoofed, body: '{}' })).json<Echo>();
      expect(headers['x-user-id'], path).toBeUndefined();
      expect(headers['x-user-roles'], path).toBeUndefined();
      expect(headers['x-consumer-id'], path).toBeUndefined();
      expect(JSON.stringify(headers), path).not.toContain('6.6.6.6');
    }
  });

  it('removes them when the client also names them in Connection (workerd consumes Connection; the copies remain)', async () => {
    const response = await rawRequest(gateway.url, '/storage/x', {
      headers: { ...spoofed, connection: 'keep-alive, X-User-Id, X-Consumer-Id, X-Forwarded-For', ...(await bearer()) },
    });
    const { headers } = response.json<Echo>();
    expect(headers['x-user-id']).toBe('alice');
    expect(headers['x-consumer-id']).toBe('local:alice');
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('never forwards a CF-Connecting-IP header (the address in it is the edge\'s to set: see Known limits)', async () => {
    const { headers } = (await rawRequest(gateway.url, '/open/x', { headers: { 'cf-connecting-ip': '6.6.6.6', 'cf-connecting-ipv6': '::6' } })).json<Echo>();
    expect(headers['cf-connecting-ip']).toBeUndefined();
    expect(headers['cf-connecting-ipv6']).toBeUndefined();
  });

  it('cannot smuggle an identity through a differently cased or underscored header name', async () => {
    const { headers } = (await rawRequest(gateway.url, '/open/x', { headers: { 'X-USER-ID': 'root', 'x_user_id': 'root' } })).json<Echo>();
    expect(headers['x-user-id']).toBeUndefined();
    // Another header to HTTP, but CGI, WSGI, Rack and PHP origins read it as X-User-Id: dropped too (as nginx drops
    // underscored names by default, and Envoy's headers_with_underscores_action can).
    expect(headers.x_user_id).toBeUndefined();
  });
});

describe('path bypass attempts against protected routes, sent raw', () => {
  // The admin service needs role "admin"; /auth needs a token except on /auth/login and /auth/register. Every
  // vector either fails to reach a protected origin or reaches it only with authentication.
  it.each([
    '/auth/login/../users',
    '/auth/login/%2e%2e/users',
    '/auth/login/%2E%2E/users',
    '/auth/login/.%2e/users',
    '/auth/login/..%2Fusers',
    '/auth/login/..%2fusers',
    '/auth/login%2F..%2Fusers',
    '/auth/login/..%5Cusers',
    '/auth/login\\..\\users',
    '/auth/login;/../users',
    '/auth/login/..;/users',
    '/auth/login;jsessionid=0/../users',
    '/auth/login/%252e%252e/users',
    '/auth/login/%C0%AE%C0%AE/users',
    '/auth/login/%EF%BC%8E%EF%BC%8E/users',
    '/auth/LOGIN',
    '/auth/login.',
    '/auth/login%2e',
    '/auth/login./',
    '/auth/./login/../users',
    '/auth/register/../../auth/users',
    '/open/../auth/users',
    '/open/%2e%2e/auth/users',
    '/open/..%2Fauth/users',
  ])('%s needs a token', async (path) => {
    const before = receivedBy(authOrigin).length;
    const response = await rawRequest(gateway.url, path);
    // Either refused, or served by the open service as the literal path it is there; never by the auth origin.
    if (response.status === 200) expect(response.json<Echo>().service).not.toBe('auth');
    else expect([400, 401, 404], response.body).toContain(response.status);
    expect(receivedBy(authOrigin).length).toBe(before);
  });

  it('resolves /auth/login//../users as the runtime does (the ".." removes the empty segment), and the origin gets that same path', async () => {
    const response = await rawRequest(gateway.url, '/auth/login//../users');
    expect(response.status).toBe(200);
    expect(response.json<Echo>().path).toBe('/api/v1/auth/login/users');
  });

  it.each([
    '/open/../admin/users',
    '/open/%2e%2e/admin/users',
    '/open/..%2F..%2Fadmin/users',
    '//admin/users',
    '/admin//users',
    '/admin/./users',
    '/ADMIN/users',
    '/admin;x=1/users',
    '/admin%2Fusers',
    '/admin/users/..%2F..%2F',
    '/admin.',
    '/admin/',
  ])('%s never reaches the admin origin without the admin role', async (path) => {
    const before = receivedBy(adminOrigin).length;
    const response = await rawRequest(gateway.url, path, { headers: await bearer({ roles: ['editor'] }) });
    if (response.status === 200) expect(response.json<Echo>().service).not.toBe('admin');
    else expect([400, 403, 404], response.body).toContain(response.status);
    expect(receivedBy(adminOrigin).length).toBe(before);
  });

  it('still serves the public paths themselves, and forwards the normalised path', async () => {
    const response = await rawRequest(gateway.url, '/auth/./login', { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(response.json<Echo>().path).toBe('/api/v1/auth/login');
  });
});

describe('API keys with the real Durable Object', () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  it('creates a key through the admin API, accepts it, lists it without secrets, and refuses it once revoked', async () => {
    const created = await rawRequest(gateway.url, '/gateway/api-keys', {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'nightly backup', consumer: 'backup-bot', services: ['storage'], scopes: ['files:read'] }),
    });
    expect(created.status).toBe(201);
    const { id, key } = created.json<{ id: string; key: string }>();

    const used = await rawRequest(gateway.url, '/storage/files/1', { headers: { 'x-api-key': key } });
    expect(used.status).toBe(200);
    expect(used.json<Echo>().headers['x-consumer-id']).toBe('api-key:backup-bot');
    expect((await rawRequest(gateway.url, '/storage/files/1', { headers: { authorization: `ApiKey ${key}` } })).status).toBe(200);

    const listed = await rawRequest(gateway.url, '/gateway/api-keys', { headers: admin });
    expect(listed.body).toContain(id);
    expect(listed.body).not.toContain(key);

    expect((await rawRequest(gateway.url, `/gateway/api-keys/${id}`, { method: 'DELETE', headers: admin })).status).toBe(204);
    expect((await rawRequest(gateway.url, '/storage/files/1', { headers: { 'x-api-key': key } })).status).toBe(401);
  });

  it('keeps the admin API closed without the admin token, also through encoded paths', async () => {
    for (const path of ['/gateway/api-keys', '/open/../gateway/api-keys', '/open/%2e%2e/gateway/api-keys', '//gateway/api-keys', '/gateway/./api-keys']) {
      const response = await rawRequest(gateway.url, path);
      expect(response.status, path).toBe(401);
    }
    expect((await rawRequest(gateway.url, '/gateway/api-keys', { headers: { authorization: 'Bearer e2e-admin-token-0123456789abcdeX' } })).status).toBe(401);
  });
});
