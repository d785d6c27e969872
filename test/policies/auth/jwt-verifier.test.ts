/** JwtVerifier: every supported algorithm, claim mapping, the verified-token cache, and the issuer's settings. */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parseGatewayConfig } from '../../../src/config/load.ts';
import type { GatewayConfigInput } from '../../../src/config/schema.ts';
import type { Env } from '../../../src/env.ts';
import { GatewayError } from '../../../src/errors/problem.ts';
import { JwksCache, KeyServerUnavailable, type JwksSource } from '../../../src/policies/auth/jwks-cache.ts';
import { JwtVerifier } from '../../../src/policies/auth/jwt-verifier.ts';
import { TokenRejected } from '../../../src/policies/auth/token-format.ts';
import { AuthServerNamespace } from '../../support/auth-server.ts';
import { claimsAt, hmacToken, signedToken, testKey, type TestKey } from '../../support/tokens.ts';

const SECRET = 'verifier-secret-0123456789abcdef0123456789';
const keyServer = new AuthServerNamespace(inject('authServer'), 'jwt-verifier');
const T0 = 1_800_000_000_000;
const S0 = T0 / 1000;
const OTHER_SECRET = 'other-secret-0123456789abcdef0123456789';
const secrets = { ...env, JWT_SECRET: SECRET, OTHER_SECRET } as Env;

type IssuerInput = NonNullable<NonNullable<NonNullable<GatewayConfigInput['gateway']>['auth']>['issuers']>[number];

function verifierWith(issuers: IssuerInput[], options: { tokenCache?: { maxEntries?: number; maxTtlSeconds?: number }; jwks?: JwksCache } = {}): JwtVerifier {
  const config = parseGatewayConfig({
    gateway: { auth: { issuers, ...(options.tokenCache ? { tokenCache: options.tokenCache } : {}) } },
    services: [{ name: 'x', routes: [{ pathPrefix: '/x' }], instances: [{ url: 'http://127.0.0.1:1' }] }],
  });
  return new JwtVerifier(config.gateway.auth, options.jwks);
}

const hsIssuer = (overrides: Partial<IssuerInput> = {}): IssuerInput => ({
  name: 'local',
  issuer: 'https://local.test',
  kind: 'secret',
  audience: ['api'],
  ...overrides,
});
const local = (overrides: Record<string, unknown> = {}) => ({ ...claimsAt(S0), iss: 'https://local.test', aud: 'api', ...overrides });

/** A JwksCache that counts lookups, to see when the verifier used its own cache instead. */
class CountingJwks extends JwksCache {
  lookups = 0;
  override async key(source: JwksSource, header: { alg: string; kid?: string }, now: number): Promise<CryptoKey> {
    this.lookups++;
    return super.key(source, header, now);
  }
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
const keys = new Map<string, TestKey>();

beforeAll(async () => {
  for (const alg of ASYMMETRIC) keys.set(alg, await testKey(alg, `key-${alg}`));
  await keyServer.control({ keys: [...keys.values()].map((key) => key.publicJwk) });
});

describe('JwtVerifier: algorithms', () => {
  it.each(['HS256', 'HS384', 'HS512'] as const)('verifies %s with the issuer\'s secret', async (alg) => {
    const verifier = verifierWith([hsIssuer({ algorithms: [alg] })]);
    const token = await hmacToken(local(), SECRET, { alg });
    await expect(verifier.verify(token, secrets, undefined, T0)).resolves.toMatchObject({ issuer: 'local' });
  });

  it.each(ASYMMETRIC)('verifies %s with a key from the JWKS', async (alg) => {
    const verifier = verifierWith([{ name: 'idp', issuer: 'https://idp.test', kind: 'jwks', jwksUrl: keyServer.jwksUrl, algorithms: [alg], audience: ['api'] }]);
    const token = await signedToken({ ...local(), iss: 'https://idp.test' }, keys.get(alg)!);
    await expect(verifier.verify(token, secrets, undefined, T0)).resolves.toMatchObject({ issuer: 'idp', identity: { subject: 'alice' } });
  });

  it('reads the HMAC key from the secret the issuer names', async () => {
    const verifier = verifierWith([hsIssuer({ secret: 'OTHER_SECRET' })]);
    await expect(verifier.verify(await hmacToken(local(), OTHER_SECRET), secrets, undefined, T0)).resolves.toBeDefined();
    await expect(verifier.verify(await hmacToken(local({ jti: 'b' }), SECRET), secrets, undefined, T0)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('answers configuration-error (500), not 401, when the issuer\'s secret is not set', async () => {
    const verifier = verifierWith([hsIssuer({ secret: 'MISSING_SECRET' })]);
    const error = await verifier.verify(await hmacToken(local(), SECRET), secrets, undefined, T0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).kind).toBe('configuration-error');
  });

  it('lets KeyServerUnavailable through when a JWKS issuer has no keys to be had', async () => {
    const down = new AuthServerNamespace(inject('authServer'), 'jwt-verifier-down');
    await down.control({ jwks: 'error' });
    const verifier = verifierWith([{ name: 'idp', issuer: 'https://idp.test', kind: 'jwks', jwksUrl: down.jwksUrl, audience: ['api'] }]);
    const token = await signedToken({ ...local(), iss: 'https://idp.test' }, keys.get('RS256')!);
    await expect(verifier.verify(token, secrets, undefined, T0)).rejects.toBeInstanceOf(KeyServerUnavailable);
  });
});

describe('JwtVerifier: claims', () => {
  it('maps sub, roles and scope to the identity, with the consumer id "<issuer name>:<sub>"', async () => {
    const verifier = verifierWith([hsIssuer()]);
    const token = await hmacToken(local({ roles: ['admin', 'editor'], scope: 'read write' }), SECRET);
    const { identity } = await verifier.verify(token, secrets, undefined, T0);
    expect(identity).toMatchObject({ method: 'jwt', subject: 'alice', consumerId: 'local:alice', roles: ['admin', 'editor'], scopes: ['read', 'write'] });
  });

  it('reads roles and scopes from configured, nested claims (Keycloak-style realm_access.roles, scp arrays)', async () => {
    const verifier = verifierWith([hsIssuer({ rolesClaim: 'realm_access.roles', scopesClaim: 'scp' })]);
    const token = await hmacToken(local({ realm_access: { roles: ['ops'] }, scp: ['a', 'b'] }), SECRET);
    expect((await verifier.verify(token, secrets, undefined, T0)).identity).toMatchObject({ roles: ['ops'], scopes: ['a', 'b'] });
  });

  it('drops role entries that could not travel in a header (commas, control characters, non-strings)', async () => {
    const verifier = verifierWith([hsIssuer()]);
    const token = await hmacToken(local({ roles: ['ok', 'a,b', 'x\ny', 42, { admin: true }, 'ok'] }), SECRET);
    expect((await verifier.verify(token, secrets, undefined, T0)).identity.roles).toEqual(['ok']);
  });

  it('keeps in the identity only the claims that identity headers read, not the whole payload', async () => {
    const config = parseGatewayConfig({
      gateway: { auth: { issuers: [hsIssuer()] } },
      services: [{ name: 'x', routes: [{ pathPrefix: '/x' }], instances: [{ url: 'http://127.0.0.1:1' }] }],
    });
    const verifier = new JwtVerifier(config.gateway.auth, undefined, new Set(['tenant']));
    const token = await hmacToken(local({ tenant: { id: 't1' }, bulky: 'x'.repeat(1000) }), SECRET);
    expect((await verifier.verify(token, secrets, undefined, T0)).identity.claims).toEqual({ tenant: { id: 't1' } });
    const plain = verifierWith([hsIssuer()]);
    expect((await plain.verify(token, secrets, undefined, T0)).identity.claims).toBeUndefined();
  });

  it('requires the configured claims besides exp', async () => {
    const verifier = verifierWith([hsIssuer({ requiredClaims: ['tenant'] })]);
    await expect(verifier.verify(await hmacToken(local(), SECRET), secrets, undefined, T0)).rejects.toBeInstanceOf(TokenRejected);
    await expect(verifier.verify(await hmacToken(local({ tenant: 't1' }), SECRET), secrets, undefined, T0)).resolves.toBeDefined();
  });

  it('accepts any of several audiences, and a token naming several audiences', async () => {
    const verifier = verifierWith([hsIssuer({ audience: ['api', 'admin'] })]);
    await expect(verifier.verify(await hmacToken(local({ aud: 'admin' }), SECRET), secrets, undefined, T0)).resolves.toBeDefined();
    await expect(verifier.verify(await hmacToken(local({ aud: ['other', 'api'] }), SECRET), secrets, undefined, T0)).resolves.toBeDefined();
  });

  it('refuses tokens older than maxTokenAgeSeconds, and ones without iat then', async () => {
    const verifier = verifierWith([hsIssuer({ maxTokenAgeSeconds: 300, clockSkewSeconds: 0 })]);
    await expect(verifier.verify(await hmacToken(local({ iat: S0 - 301 }), SECRET), secrets, undefined, T0)).rejects.toBeInstanceOf(TokenRejected);
    const { iat: _, ...withoutIat } = local();
    await expect(verifier.verify(await hmacToken(withoutIat, SECRET), secrets, undefined, T0)).rejects.toBeInstanceOf(TokenRejected);
    await expect(verifier.verify(await hmacToken(local({ iat: S0 - 299 }), SECRET), secrets, undefined, T0)).resolves.toBeDefined();
  });

  it('applies the issuer\'s clock skew to exp, nbf and iat', async () => {
    const verifier = verifierWith([hsIssuer({ clockSkewSeconds: 5 })]);
    await expect(verifier.verify(await hmacToken(local({ exp: S0 - 4 }), SECRET), secrets, undefined, T0)).resolves.toBeDefined();
    await expect(verifier.verify(await hmacToken(local({ exp: S0 - 6 }), SECRET), secrets, undefined, T0)).rejects.toMatchObject({ failure: 'expired' });
    await expect(verifier.verify(await hmacToken(local({ nbf: S0 + 6 }), SECRET), secrets, undefined, T0)).rejects.toMatchObject({ failure: 'not-yet-valid' });
    await expect(verifier.verify(await hmacToken(local({ iat: S0 + 6, jti: 'i' }), SECRET), secrets, undefined, T0)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('accepts a token only from the issuers the caller allows', async () => {
    const verifier = verifierWith([hsIssuer(), hsIssuer({ name: 'partner', issuer: 'https://partner.test', secret: 'OTHER_SECRET' })]);
    const token = await hmacToken({ ...local(), iss: 'https://partner.test' }, OTHER_SECRET);
    await expect(verifier.verify(token, secrets, new Set(['partner']), T0)).resolves.toMatchObject({ issuer: 'partner' });
    await expect(verifier.verify(token, secrets, new Set(['local']), T0)).rejects.toBeInstanceOf(TokenRejected);
  });
});

describe('JwtVerifier: the verified-token cache', () => {
  const idp = { name: 'idp', issuer: 'https://idp.test', kind: 'jwks' as const, jwksUrl: keyServer.jwksUrl, audience: ['api'] };
  const idpToken = (overrides: Record<string, unknown> = {}) => signedToken({ ...local(), iss: 'https://idp.test', ...overrides }, keys.get('RS256')!);

  it('verifies a token once and answers repeats from the cache', async () => {
    const jwks = new CountingJwks();
    const verifier = verifierWith([idp], { jwks });
    const token = await idpToken();
    for (let i = 0; i < 5; i++) await verifier.verify(token, secrets, undefined, T0 + i * 1000);
    expect(jwks.lookups).toBe(1);
  });

  it('never serves a cached token past its exp', async () => {
    const jwks = new CountingJwks();
    const verifier = verifierWith([idp], { jwks });
    const token = await idpToken({ exp: S0 + 10 });
    await verifier.verify(token, secrets, undefined, T0);
    await verifier.verify(token, secrets, undefined, T0 + 9_000);
    expect(jwks.lookups).toBe(1);
    // Past exp the cache entry is gone and the token is checked again (here still within the 60 s skew).
    await verifier.verify(token, secrets, undefined, T0 + 10_000);
    expect(jwks.lookups).toBe(2);
    await expect(verifier.verify(token, secrets, undefined, T0 + 71_000)).rejects.toMatchObject({ failure: 'expired' });
  });

  it('keeps a token at most tokenCache.maxTtlSeconds', async () => {
    const jwks = new CountingJwks();
    const verifier = verifierWith([idp], { jwks, tokenCache: { maxTtlSeconds: 60 } });
    const token = await idpToken();
    await verifier.verify(token, secrets, undefined, T0);
    await verifier.verify(token, secrets, undefined, T0 + 60_000);
    expect(jwks.lookups).toBe(2);
  });

  it('is bounded: beyond maxEntries the least recently used token is verified again', async () => {
    const jwks = new CountingJwks();
    const verifier = verifierWith([idp], { jwks, tokenCache: { maxEntries: 2 } });
    const [a, b, c] = await Promise.all([idpToken({ jti: 'a' }), idpToken({ jti: 'b' }), idpToken({ jti: 'c' })]);
    for (const token of [a, b, c]) await verifier.verify(token, secrets, undefined, T0);
    expect(jwks.lookups).toBe(3);
    await verifier.verify(c, secrets, undefined, T0);
    await verifier.verify(b, secrets, undefined, T0);
    expect(jwks.lookups).toBe(3);
    await verifier.verify(a, secrets, undefined, T0);
    expect(jwks.lookups).toBe(4);
  });

  // Issue 9: a cache hit hashed the token with SHA-256 first (about a third of auth's CPU in the bench's ledger).
  it('answers a cached token of ordinary size with a map lookup: no hashing, no verification', async () => {
    const jwks = new CountingJwks();
    const verifier = verifierWith([idp], { jwks });
    const token = await idpToken();
    await verifier.verify(token, secrets, undefined, T0);
    const digest = vi.spyOn(crypto.subtle, 'digest');
    try {
      await verifier.verify(token, secrets, undefined, T0 + 1_000);
      expect(digest).not.toHaveBeenCalled();
    } finally {
      digest.mockRestore();
    }
    expect(jwks.lookups).toBe(1);
  });

  it('checks the allowed issuers on a cache hit too', async () => {
    const verifier = verifierWith([hsIssuer(), hsIssuer({ name: 'partner', issuer: 'https://partner.test' })]);
    const token = await hmacToken({ ...local(), iss: 'https://partner.test' }, SECRET);
    await verifier.verify(token, secrets, undefined, T0);
    await expect(verifier.verify(token, secrets, new Set(['local']), T0)).rejects.toBeInstanceOf(TokenRejected);
  });
});
