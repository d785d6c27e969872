/** CORS per service: preflights answered at the edge, headers on responses, Vary: Origin. */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { gatewayFor, problemType } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');
const closed = inject('closedOrigin');

const config: GatewayConfigInput = {
  gateway: { auth: { issuers: [{ name: 'local', issuer: 'https://local.test', kind: 'secret', audience: ['api'] }] } },
  services: [
    {
      name: 'app',
      routes: [{ pathPrefix: '/app', methods: ['GET', 'POST'] }],
      // The preflight must never reach the origin: this one refuses connections.
      instances: [{ url: closed }],
      policies: {
        auth: { mode: 'jwt' },
        cors: { allowedOrigins: ['https://app.example.com', 'https://*.tenant.example.com'], allowedMethods: ['GET', 'POST'], allowCredentials: true, maxAgeSeconds: 300 },
      },
    },
    {
      name: 'public',
      routes: [{ pathPrefix: '/public' }],
      instances: [{ url: echo! }],
      policies: { cors: { allowedOrigins: ['*'] } },
    },
    { name: 'plain', routes: [{ pathPrefix: '/plain' }], instances: [{ url: echo! }] },
  ],
};
const send = gatewayFor(config, { JWT_SECRET: 'cors-secret-0123456789abcdef0123456789' });

function preflight(path: string, origin: string, method = 'POST', headers = 'authorization, content-type') {
  return send(path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });
}

describe('CORS preflight', () => {
  it('is answered at the edge with 204, for a route that does not even accept OPTIONS, without credentials', async () => {
    const response = await preflight('/app/items', 'https://app.example.com');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-max-age')).toBe('300');
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('allows subdomains of a pattern origin, and not the bare domain or a look-alike', async () => {
    expect((await preflight('/app/x', 'https://eu.tenant.example.com')).status).toBe(204);
    expect((await preflight('/app/x', 'https://tenant.example.com')).status).toBe(403);
    expect((await preflight('/app/x', 'https://eviltenant.example.com')).status).toBe(403);
    expect((await preflight('/app/x', 'http://eu.tenant.example.com')).status).toBe(403);
  });

  it.each([
    ['an origin not listed', 'https://evil.example', 'POST', 'content-type'],
    ['a header not allowed', 'https://app.example.com', 'POST', 'x-secret'],
    ['the literal origin "null"', 'null', 'POST', ''],
  ])('refuses %s with 403 cors-rejected, at the edge', async (_label, origin, method, headers) => {
    const response = await preflight('/app/x', origin, method, headers);
    expect(response.status).toBe(403);
    expect(await problemType(response)).toBe('cors-rejected');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses a method the policy does not allow with 403, and one no route takes with 405, at the edge either way', async () => {
    expect((await preflight('/public/x', 'https://app.example.com', 'PATCH', '')).status).toBe(204);
    const policyRefuses = gatewayFor({ services: [{ name: 'p', routes: [{ pathPrefix: '/p' }], instances: [{ url: closed }], policies: { cors: { allowedOrigins: ['*'], allowedMethods: ['GET'] } } }] });
    expect((await policyRefuses('/p/x', { method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'DELETE' } })).status).toBe(403);
    // /app routes take GET and POST only: no route for DELETE, so routing answers the OPTIONS with 405.
    expect((await preflight('/app/x', 'https://app.example.com', 'DELETE', '')).status).toBe(405);
  });

  it('answers "*" for a service open to any origin without credentials', async () => {
    const response = await preflight('/public/x', 'https://anyone.example', 'GET', '');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('leaves a service without a CORS policy to its origin: the OPTIONS request is forwarded', async () => {
    const response = await preflight('/plain/x', 'https://app.example.com', 'GET', '');
    expect(response.status).toBe(200);
    expect(((await response.json()) as { method: string }).method).toBe('OPTIONS');
  });
});

describe('CORS on responses', () => {
  it('adds the allow-origin, credentials and exposed headers for an allowed origin, on a 401 too', async () => {
    const response = await send('/app/x', { headers: { origin: 'https://app.example.com' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-expose-headers')).toBe('x-request-id, traceparent');
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('adds nothing but Vary: Origin for another origin, or for a request without Origin', async () => {
    for (const headers of [{ origin: 'https://evil.example' }, {}] as Record<string, string>[]) {
      const response = await send('/public/x', { headers });
      if ('origin' in headers) expect(response.headers.get('access-control-allow-origin')).toBe('*');
      else expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('vary')).toContain('Origin');
    }
    const refused = await send('/app/x', { headers: { origin: 'https://evil.example' } });
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(refused.headers.get('vary')).toContain('Origin');
  });

  it('adds nothing to services without a CORS policy', async () => {
    const response = await send('/plain/x', { headers: { origin: 'https://app.example.com' } });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
