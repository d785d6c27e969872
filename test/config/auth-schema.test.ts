/** The authentication, CORS and edge settings of the configuration: defaults, and errors that name the field. */
import { describe, expect, it } from 'vitest';
import bundledConfig from '../../gateway.config.json';
import { parseGatewayConfig } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

const instance = { url: 'http://127.0.0.1:8081' };
const localIssuer = { name: 'local', issuer: 'https://local.test', kind: 'secret', audience: ['api'] };
const service = (policies: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}) => ({
  name: 'samples',
  routes: [{ pathPrefix: '/samples' }],
  instances: [instance],
  policies,
  ...overrides,
});

describe('defaults', () => {
  it('leaves a service without policies.auth open, and fills the gateway-level defaults', () => {
    const config = parseGatewayConfig({ services: [service()] });
    expect(config.services[0]!.policies.auth).toBeUndefined();
    expect(config.gateway.auth).toMatchObject({ realm: 'edge-gateway', issuers: [], maxTokenBytes: 8192, tokenCache: { maxEntries: 10_000, maxTtlSeconds: 300 }, apiKeys: { cacheTtlSeconds: 30 }, admin: { role: 'admin' } });
    expect(config.gateway.limits).toEqual({ maxBodyBytes: 100 * 1024 * 1024, maxHeaderBytes: 32 * 1024, bodyIdleTimeoutMs: 30_000 });
    expect(config.gateway.allowedHosts).toEqual([]);
  });

  it('defaults an issuer\'s algorithms by kind, its clock skew to 60 s and its claims to roles and scope', () => {
    const config = parseGatewayConfig({
      gateway: { auth: { issuers: [localIssuer, { name: 'idp', issuer: 'https://idp.test', kind: 'jwks', jwksUrl: 'https://idp.test/jwks', audience: ['api'] }] } },
      services: [service()],
    });
    const [local, idp] = config.gateway.auth.issuers;
    expect(local).toMatchObject({ algorithms: ['HS256'], secret: 'JWT_SECRET', clockSkewSeconds: 60, rolesClaim: 'roles', scopesClaim: 'scope' });
    expect(idp).toMatchObject({ algorithms: ['RS256'], jwks: { cacheMaxAgeSeconds: 600, cooldownSeconds: 30, staleIfErrorSeconds: 86_400, timeoutMs: 3_000 } });
  });

  it('defaults an auth policy to mode jwt with the default identity headers', () => {
    const config = parseGatewayConfig({ gateway: { auth: { issuers: [localIssuer] } }, services: [service({ auth: {} })] });
    expect(config.services[0]!.policies.auth).toEqual({
      mode: 'jwt',
      publicPaths: [],
      rules: [],
      identityHeaders: { 'x-user-id': 'subject', 'x-user-roles': 'roles', 'x-consumer-id': 'consumerId' },
    });
  });

  it('gives the demo services of gateway.config.json authentication, with /samples readable without a token', () => {
    const config = parseGatewayConfig(bundledConfig);
    for (const s of config.services) expect(s.policies.auth?.mode, s.name).not.toBe('none');
    const samples = config.services.find((s) => s.name === 'samples')!;
    expect(samples.policies.auth?.publicPaths).toEqual([{ path: '/samples', methods: ['GET', 'HEAD'] }]);
    const auth = config.services.find((s) => s.name === 'auth')!;
    expect(auth.policies.auth?.publicPaths).toEqual(expect.arrayContaining(['/auth/login', '/auth/register', '/auth/refresh']));
  });
});

describe('errors name the field', () => {
  it.each([
    [{ gateway: { auth: { issuers: [{ ...localIssuer, algorithms: ['RS256'] }] } }, services: [service()] }, 'gateway.auth.issuers[0].algorithms[0]: kind "secret" accepts only HS256, HS384, HS512'],
    [{ gateway: { auth: { issuers: [{ ...localIssuer, kind: 'jwks', jwksUrl: 'https://x.test/jwks', algorithms: ['HS256'] }] } }, services: [service()] }, 'gateway.auth.issuers[0].algorithms[0]: kind "jwks" accepts only asymmetric algorithms'],
    [{ gateway: { auth: { issuers: [{ ...localIssuer, kind: 'jwks' }] } }, services: [service()] }, 'gateway.auth.issuers[0].jwksUrl: required for kind "jwks"'],
    [{ gateway: { auth: { issuers: [{ ...localIssuer, algorithms: ['none'] }] } }, services: [service()] }, 'gateway.auth.issuers[0].algorithms[0]: Invalid option: expected one of "HS256"|"HS384"|"HS512"|"RS256"|"RS384"|"RS512"|"PS256"|"PS384"|"PS512"|"ES256"|"ES384"|"ES512"|"EdDSA"|"Ed25519"'],
    [{ gateway: { auth: { issuers: [{ ...localIssuer, audience: undefined }] } }, services: [service()] }, 'gateway.auth.issuers[0].audience: Invalid input: expected array, received undefined'],
    [{ gateway: { auth: { issuers: [{ ...localIssuer, clockSkewSeconds: 3600 }] } }, services: [service()] }, 'gateway.auth.issuers[0].clockSkewSeconds: Too big: expected number to be <=300'],
    [{ gateway: { auth: { issuers: [{ ...localIssuer, secret: 'jwt_secret' }] } }, services: [service()] }, 'gateway.auth.issuers[0].secret: expected the name of a Workers secret in upper case, such as "JWT_SECRET"'],
    [{ gateway: { auth: { issuers: [localIssuer, localIssuer] } }, services: [service()] }, 'gateway.auth.issuers[1].name: duplicate issuer name "local"'],
    [{ gateway: { auth: { issuers: [localIssuer, { ...localIssuer, name: 'again' }] } }, services: [service()] }, 'gateway.auth.issuers[1].issuer: duplicate issuer "https://local.test"'],
    [{ gateway: { auth: { issuers: [localIssuer], admin: { issuers: ['ghost'] } } }, services: [service()] }, 'gateway.auth.admin.issuers[0]: no issuer named "ghost" in gateway.auth.issuers'],
    [{ services: [service({ auth: { mode: 'jwt' } })] }, 'services[0].policies.auth.mode: mode "jwt" needs at least one issuer in gateway.auth.issuers'],
    [{ gateway: { auth: { issuers: [localIssuer] } }, services: [service({ auth: { issuers: ['ghost'] } })] }, 'services[0].policies.auth.issuers[0]: no issuer named "ghost" in gateway.auth.issuers'],
    [{ services: [service({ auth: { mode: 'introspection' } })] }, 'services[0].policies.auth.introspection: required for mode "introspection"'],
    [{ services: [service({ auth: { mode: 'introspection', introspection: 'ghost' } })] }, 'services[0].policies.auth.introspection: no introspection endpoint named "ghost" in gateway.auth.introspection'],
    [{ services: [service({ auth: { mode: 'api-key', introspection: 'x' } })] }, 'services[0].policies.auth.introspection: only for mode "introspection"'],
    [{ services: [service({ auth: { mode: 'none', rules: [{ roles: ['a'] }] } })] }, 'services[0].policies.auth.rules: rules need an authentication mode other than "none"'],
    [{ services: [service({ auth: { mode: 'api-key', rules: [{ pathPrefix: '/samples/a' }] } })] }, 'services[0].policies.auth.rules[0]: name roles or scopes (or both)'],
    [{ services: [service({ auth: { mode: 'api-key', publicPaths: ['/samples/../x'] } })] }, 'services[0].policies.auth.publicPaths[0]: expected a normalised path without a trailing slash, such as "/x"'],
    [{ services: [service({ auth: { mode: 'api-key', identityHeaders: { 'x-forwarded-for': 'subject' } } })] }, 'services[0].policies.auth.identityHeaders.x-forwarded-for: this header is set or relied on by the gateway itself'],
    [{ services: [service({ auth: { mode: 'api-key', identityHeaders: { 'x-user': 'password' } } })] }, 'services[0].policies.auth.identityHeaders.x-user: expected "subject", "consumerId", "roles", "scopes", "method" or "claim:<name>"'],
    [{ services: [service({ auth: { mode: 'oauth' } })] }, 'services[0].policies.auth.mode: Invalid option: expected one of "jwt"|"introspection"|"api-key"|"jwt-or-api-key"|"none"'],
    [{ services: [service({ cors: { allowedOrigins: ['*'], allowCredentials: true } })] }, 'services[0].policies.cors.allowCredentials: allowCredentials cannot be combined with origin "*" (Fetch standard)'],
    [{ services: [service({ cors: { allowedOrigins: ['app.example.com'] } })] }, 'services[0].policies.cors.allowedOrigins[0]: expected "*" or an origin such as "https://app.example.com" or "https://*.example.com"'],
    [{ gateway: { allowedHosts: ['API.example.com'] }, services: [service()] }, 'gateway.allowedHosts[0]: expected a lower-case host name, optionally starting with "*."'],
    [{ gateway: { limits: { maxHeaderBytes: 10 } }, services: [service()] }, 'gateway.limits.maxHeaderBytes: Too small: expected number to be >=1024'],
    [{ services: [service({}, { routes: [{ pathPrefix: '/alerts' }] })] }, 'services[0].routes[0].pathPrefix: "/alerts" is reserved for the gateway\'s own endpoints'],
  ])('%j → %s', (input, expected) => {
    expect(issuesOf(input)).toContain(expected);
  });
});
