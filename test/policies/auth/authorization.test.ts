/**
 * Public paths and access rules on the normalised path: no encoding trick reaches a protected route through a
 * public one. Vectors after Envoy's path_utility_test.cc and WPT's urltestdata.json, as the runtime hands them to
 * the Worker (raw), run through the gateway's normalisation and then its policy.
 */
import { describe, expect, inject, it } from 'vitest';
import { parseGatewayConfig } from '../../../src/config/load.ts';
import type { AuthPolicyConfig } from '../../../src/config/schema.ts';
import type { Identity } from '../../../src/env.ts';
import { isAmbiguousPath, ServiceAuth } from '../../../src/policies/auth/auth-policy.ts';
import { normalizePath } from '../../../src/routing/normalize-path.ts';
import { gatewayFor, problemType } from '../../support/gateway.ts';
import { claimsAt, hmacToken } from '../../support/tokens.ts';

function policyOf(auth: Record<string, unknown>): ServiceAuth {
  const config = parseGatewayConfig({
    gateway: { auth: { issuers: [{ name: 'local', issuer: 'https://local.test', kind: 'secret', audience: ['api'] }] } },
    services: [{ name: 'auth', routes: [{ pathPrefix: '/auth' }], instances: [{ url: 'http://127.0.0.1:1' }], policies: { auth } }],
  });
  return new ServiceAuth(config.services[0]!.policies.auth as AuthPolicyConfig, new Map());
}

const authService = policyOf({
  publicPaths: ['/auth/login', '/auth/register', { path: '/auth/docs', methods: ['GET'] }],
  rules: [{ pathPrefix: '/auth/admin', roles: ['admin'] }],
});
const isPublic = (raw: string, method = 'GET') => authService.isPublic(method, normalizePath(raw));
const identity = (roles: string[] = [], scopes: string[] = []): Identity => ({ method: 'jwt', subject: 's', consumerId: 'local:s', roles, scopes });

describe('public paths', () => {
  it.each(['/auth/login', '/auth/login/', '/auth/login/step-2', '/auth/register', '/auth/docs/intro', '/auth/login/a%20b'])('%s is public', (raw) => {
    expect(isPublic(raw)).toBe(true);
  });

  it('makes a path public only for the methods listed', () => {
    expect(isPublic('/auth/docs', 'GET')).toBe(true);
    expect(isPublic('/auth/docs', 'POST')).toBe(false);
  });

  it.each([
    // dot segments, plain and encoded (Envoy: "/a/b/../c", "/a/%2e%2e/c"; WPT: "/foo/%2e%2", ".%2e", "%2E.")
    '/auth/login/../admin',
    '/auth/login/../users',
    '/auth/login/./../admin',
    '/auth/login/%2e%2e/admin',
    '/auth/login/%2E%2E/admin',
    '/auth/login/.%2e/admin',
    '/auth/login/%2e./admin',
    '/auth/login/%2e%2e/%2e%2e/auth/admin',
    '/auth/login/x/../../admin',
    '/auth/./login/../admin',
    '/auth/%6cogin/../admin',
    // merged slashes (Envoy: "//a//b"), where RFC 3986 dot removal alone would stay under /login
    '/auth/login//../admin',
    // backslashes, literal and encoded (WPT: "\\foo\\bar"; Envoy: "/a\\b")
    '/auth/login\\..\\admin',
    '/auth/login/..%5Cadmin',
    '/auth/login%5C..%5Cadmin',
    // encoded slashes (Envoy's path_with_escaped_slashes_action cases)
    '/auth/login/..%2Fadmin',
    '/auth/login/..%2fadmin',
    '/auth/login%2F..%2Fadmin',
    '/auth/login/%2e%2e%2fadmin',
    // double encoding
    '/auth/login/%252e%252e/admin',
    '/auth/login/%252e%252e%252fadmin',
    // path parameters (Tomcat's "..;", Spring's ";jsessionid")
    '/auth/login;/../admin',
    '/auth/login/..;/admin',
    '/auth/login;jsessionid=1/../admin',
    '/auth/login;x',
    // case, trailing dots and spaces: another resource as far as the gateway is concerned
    '/auth/LOGIN',
    '/Auth/login',
    '/auth/login.',
    '/auth/login%2e',
    '/auth/login./',
    '/auth/login%20',
    '/auth/loginx',
    // overlong and fullwidth encodings of "." and "/" (IIS-style normalisers)
    '/auth/login/%C0%AE%C0%AE/admin',
    '/auth/login/%C0%AF..%C0%AFadmin',
    '/auth/login/%EF%BC%8E%EF%BC%8E/admin',
    '/auth/login/..%EF%BC%8Fadmin',
  ])('%s is not public', (raw) => {
    expect(isPublic(raw)).toBe(false);
  });
});

describe('access rules', () => {
  it('requires the rule\'s role under its prefix only', () => {
    expect(authService.unmetRule(identity(), 'GET', '/auth/admin/users')).toBeDefined();
    expect(authService.unmetRule(identity(['admin']), 'GET', '/auth/admin/users')).toBeUndefined();
    expect(authService.unmetRule(identity(), 'GET', '/auth/profile')).toBeUndefined();
  });

  it.each(['/auth/profile/..%2Fadmin', '/auth/x;/../admin', '/auth/x/%C0%AE%C0%AE/admin', '/auth/x/..%EF%BC%8Fadmin'])(
    'applies every rule of the service to the ambiguous path %s',
    (raw) => {
      expect(authService.unmetRule(identity(), 'GET', normalizePath(raw))).toBeDefined();
    },
  );

  it('does not treat ordinary escapes as ambiguous', () => {
    for (const path of ['/auth/files/a%20b', '/auth/files/caf%C3%A9', '/auth/files/%E2%82%AC', '/auth/files/q%3F']) expect(isAmbiguousPath(path), path).toBe(false);
  });

  it('with match "any" needs one listed role, with "all" every one, and roles and scopes both when both are listed', () => {
    const policy = policyOf({
      rules: [
        { pathPrefix: '/auth/any', roles: ['a', 'b'] },
        { pathPrefix: '/auth/all', roles: ['a', 'b'], match: 'all' },
        { pathPrefix: '/auth/both', roles: ['a'], scopes: ['s'] },
      ],
    });
    expect(policy.unmetRule(identity(['b']), 'GET', '/auth/any')).toBeUndefined();
    expect(policy.unmetRule(identity(['b']), 'GET', '/auth/all')).toBeDefined();
    expect(policy.unmetRule(identity(['a', 'b']), 'GET', '/auth/all')).toBeUndefined();
    expect(policy.unmetRule(identity(['a']), 'GET', '/auth/both')).toBeDefined();
    expect(policy.unmetRule(identity(['a'], ['s']), 'GET', '/auth/both')).toBeUndefined();
  });

  it('applies a rule to its methods only, and a rule without prefix to the whole service', () => {
    const policy = policyOf({ rules: [{ methods: ['DELETE'], roles: ['admin'] }] });
    expect(policy.unmetRule(identity(), 'GET', '/auth/x')).toBeUndefined();
    expect(policy.unmetRule(identity(), 'DELETE', '/auth/x')).toBeDefined();
  });

  it('needs every applicable rule satisfied, so a more specific rule cannot loosen a broader one', () => {
    const policy = policyOf({ rules: [{ roles: ['staff'] }, { pathPrefix: '/auth/public-ish', roles: ['guest'] }] });
    expect(policy.unmetRule(identity(['guest']), 'GET', '/auth/public-ish')).toBeDefined();
    expect(policy.unmetRule(identity(['guest', 'staff']), 'GET', '/auth/public-ish')).toBeUndefined();
  });
});

describe('through the gateway', () => {
  const [echo] = inject('echoOrigins');
  const SECRET = 'authorization-secret-0123456789abcdef';
  const send = gatewayFor(
    {
      gateway: { auth: { issuers: [{ name: 'local', issuer: 'https://local.test', kind: 'secret', audience: ['api'] }] } },
      services: [
        {
          name: 'auth',
          routes: [{ pathPrefix: '/auth' }],
          instances: [{ url: echo! }],
          policies: { auth: { publicPaths: ['/auth/login'], rules: [{ pathPrefix: '/auth/admin', scopes: ['admin:write'] }] } },
        },
        {
          name: 'tenants',
          routes: [{ pathPrefix: '/tenants' }],
          instances: [{ url: echo! }],
          policies: { auth: { identityHeaders: { 'x-subject': 'subject', 'x-tenant': 'claim:org.tenant', 'x-scopes': 'scopes' } } },
        },
        {
          name: 'wiki',
          routes: [{ pathPrefix: '/wiki' }],
          instances: [{ url: echo! }],
          policies: { auth: { publicPaths: [{ path: '/wiki', methods: ['GET'] }], rules: [{ methods: ['DELETE'], scopes: ['wiki:delete'] }] } },
        },
      ],
    },
    { JWT_SECRET: SECRET },
  );
  const token = (scope?: string) => hmacToken({ ...claimsAt(Math.floor(Date.now() / 1000)), iss: 'https://local.test', aud: 'api', ...(scope ? { scope } : {}) }, SECRET);

  it('serves a public path without credentials, and sends no identity headers', async () => {
    const response = await send('/auth/login', { method: 'POST', headers: { 'x-user-id': 'admin' } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { headers: Record<string, string> }).headers['x-user-id']).toBeUndefined();
  });

  it('answers 401 on a protected path reached through an encoded public one', async () => {
    for (const path of ['/auth/login/..%2Fadmin', '/auth/login;/../admin', '/auth/login/..;/admin', '/auth/login%2F..%2Fadmin']) {
      expect((await send(path)).status, path).toBe(401);
    }
  });

  it('answers 403 insufficient_scope with the scope needed when a rule is not met', async () => {
    const response = await send('/auth/admin/x', { headers: { authorization: `Bearer ${await token('read')}` } });
    expect(response.status).toBe(403);
    expect(await problemType(response)).toBe('forbidden');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-gateway", error="insufficient_scope", scope="admin:write"');
  });

  it('sends the identity headers a service maps, claims included, and none of the default ones', async () => {
    const jwt = await hmacToken({ ...claimsAt(Math.floor(Date.now() / 1000)), iss: 'https://local.test', aud: 'api', scope: 'a b', org: { tenant: 't-9' } }, SECRET);
    const response = await send('/tenants/x', { headers: { authorization: `Bearer ${jwt}`, 'x-user-id': 'root', 'x-tenant': 'other' } });
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    expect(headers['x-subject']).toBe('alice');
    expect(headers['x-tenant']).toBe('t-9');
    expect(headers['x-scopes']).toBe('a,b');
    expect(headers['x-user-id']).toBeUndefined();
  });

  // Regression: rules and public paths limited to methods looked at the request line only, so a GET or POST naming
  // DELETE in a method-override header (which Express, Symfony, ASP.NET origins may honour) skipped the DELETE rule.
  it('checks a request that names another method in a method-override header under that method too', async () => {
    expect((await send('/wiki/page')).status).toBe(200);
    for (const name of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
      expect((await send('/wiki/page', { headers: { [name]: 'delete' } })).status, name).toBe(401);
      const response = await send('/wiki/page', { method: 'POST', headers: { [name]: 'DELETE', authorization: `Bearer ${await token('read')}` } });
      expect(response.status, name).toBe(403);
      expect(response.headers.get('www-authenticate')).toContain('scope="wiki:delete"');
    }
    const allowed = await send('/wiki/page', { method: 'POST', headers: { 'x-http-method-override': 'DELETE', authorization: `Bearer ${await token('wiki:delete')}` } });
    expect(allowed.status).toBe(200);
  });

  it('lets the request through when the rule is met', async () => {
    expect((await send('/auth/admin/x', { headers: { authorization: `Bearer ${await token('admin:write read')}` } })).status).toBe(200);
  });
});
