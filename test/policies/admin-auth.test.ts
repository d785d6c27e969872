/** requireAdmin: who may use /gateway/* and /alerts/*. */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { gatewayFor, problemType } from '../support/gateway.ts';
import { claimsAt, hmacToken } from '../support/tokens.ts';

const [echo] = inject('echoOrigins');
const SECRET = 'admin-auth-secret-0123456789abcdef0123';
const ADMIN_TOKEN = 'the-admin-token-0123456789abcdef';

const config: GatewayConfigInput = {
  gateway: {
    auth: {
      issuers: [
        { name: 'local', issuer: 'https://local.test', kind: 'secret', audience: ['api'] },
        { name: 'partner', issuer: 'https://partner.test', kind: 'secret', secret: 'PARTNER_SECRET', audience: ['api'] },
      ],
      admin: { role: 'gateway-admin', issuers: ['local'] },
    },
  },
  services: [{ name: 'open', routes: [{ pathPrefix: '/open' }], instances: [{ url: echo! }] }],
};
const send = gatewayFor(config, { JWT_SECRET: SECRET, ADMIN_TOKEN, PARTNER_SECRET: SECRET });
const now = () => Math.floor(Date.now() / 1000);
const jwt = (overrides: Record<string, unknown> = {}, secret = SECRET) => hmacToken({ ...claimsAt(now()), iss: 'https://local.test', aud: 'api', ...overrides }, secret);
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('requireAdmin', () => {
  it('opens the admin API with the ADMIN_TOKEN secret', async () => {
    expect((await send('/gateway/api-keys', bearer(ADMIN_TOKEN))).status).toBe(200);
  });

  it('opens the admin API with a JWT that carries the admin role', async () => {
    expect((await send('/gateway/api-keys', bearer(await jwt({ roles: ['gateway-admin'] })))).status).toBe(200);
  });

  it('answers 403 for a valid JWT without the admin role', async () => {
    const response = await send('/gateway/api-keys', bearer(await jwt({ roles: ['editor'] })));
    expect(response.status).toBe(403);
    expect(await problemType(response)).toBe('forbidden');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-gateway", error="insufficient_scope"');
  });

  it('accepts the admin role only from the admin issuers', async () => {
    const partnerToken = await hmacToken({ ...claimsAt(now()), iss: 'https://partner.test', aud: 'api', roles: ['gateway-admin'] }, SECRET);
    expect((await send('/gateway/api-keys', bearer(partnerToken))).status).toBe(401);
  });

  it.each([
    ['no credentials', {}],
    ['a wrong token', bearer('the-admin-token-0123456789abcdeX')],
    ['the admin token with a prefix', bearer(`x${ADMIN_TOKEN}`)],
    ['the admin token as Basic', { headers: { authorization: `Basic ${ADMIN_TOKEN}` } }],
    ['the admin token as an API key', { headers: { 'x-api-key': ADMIN_TOKEN } }],
  ])('answers 401 for %s', async (_label, init) => {
    const response = await send('/gateway/api-keys', init);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="edge-gateway"/);
  });

  it('ignores an ADMIN_TOKEN shorter than 16 characters instead of trusting it', async () => {
    const weak = gatewayFor(config, { JWT_SECRET: SECRET, ADMIN_TOKEN: 'short' });
    expect((await weak('/gateway/api-keys', bearer('short'))).status).toBe(401);
  });

  it('guards every path under /gateway and /alerts, unknown ones included, before they could 404', async () => {
    for (const path of ['/gateway', '/gateway/', '/gateway/traces', '/gateway/dashboard', '/gateway/nothing/here', '/alerts', '/alerts/rules']) {
      expect((await send(path)).status, path).toBe(401);
    }
    expect((await send('/gateway/nothing', bearer(ADMIN_TOKEN))).status).toBe(404);
  });

  it.each(['/open/../gateway/api-keys', '/open/%2e%2e/gateway/api-keys', '//gateway/api-keys', '/gateway/./api-keys', '/gateway//api-keys'])(
    'guards %s, which normalises into the admin API',
    async (path) => {
      expect((await send(path)).status).toBe(401);
    },
  );

  it.each(['/gateway%2Fapi-keys', '/GATEWAY/api-keys', '/Gateway/api-keys'])('does not let %s reach the admin API', async (path) => {
    const response = await send(path, {});
    expect(response.status).not.toBe(200);
  });

  it('leaves service paths alone', async () => {
    expect((await send('/open/x')).status).toBe(200);
  });
});
