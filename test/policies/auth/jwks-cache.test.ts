/** JwksCache against the real key server of the global setup, with the clock in the test's hands. */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { JwksCache, KeyServerUnavailable, NoMatchingKey, type JwksSource } from '../../../src/policies/auth/jwks-cache.ts';
import { AuthServerNamespace } from '../../support/auth-server.ts';
import { testKey } from '../../support/tokens.ts';

let testNumber = 0;
let server: AuthServerNamespace;
let source: JwksSource;
let cache: JwksCache;
const T0 = 1_800_000_000_000;

beforeEach(() => {
  server = new AuthServerNamespace(inject('authServer'), `jwks-cache-${++testNumber}`);
  source = { url: server.jwksUrl, cacheMaxAgeMs: 600_000, cooldownMs: 30_000, staleIfErrorMs: 3_600_000, timeoutMs: 2_000 };
  cache = new JwksCache();
});

const fetches = async () => (await server.stats()).jwksRequests;

describe('JwksCache', () => {
  it('fetches the key set once and serves later lookups from the cache', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    const first = await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0);
    const second = await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0 + 1_000);
    expect(first).toBe(second);
    expect(first.type).toBe('public');
    expect(await fetches()).toBe(1);
  });

  it('refetches after cacheMaxAge', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0);
    await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0 + source.cacheMaxAgeMs);
    expect(await fetches()).toBe(2);
  });

  it('picks up a rotated-in key: an unknown kid triggers a refetch', async () => {
    const [old, rotated] = await Promise.all([testKey('RS256', 'old'), testKey('RS256', 'new')]);
    await server.control({ keys: [old.publicJwk] });
    await cache.key(source, { alg: 'RS256', kid: 'old' }, T0);
    await server.control({ keys: [old.publicJwk, rotated.publicJwk] });
    await expect(cache.key(source, { alg: 'RS256', kid: 'new' }, T0 + source.cooldownMs)).resolves.toBeInstanceOf(CryptoKey);
    expect(await fetches()).toBe(2);
  });

  it('refetches for an unknown kid at most once per cooldown', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0);
    for (let i = 1; i <= 10; i++) {
      await expect(cache.key(source, { alg: 'RS256', kid: `unknown-${i}` }, T0 + i * 1_000)).rejects.toBeInstanceOf(NoMatchingKey);
    }
    expect(await fetches()).toBe(1); // all within the cooldown of the first fetch
    await expect(cache.key(source, { alg: 'RS256', kid: 'unknown' }, T0 + source.cooldownMs)).rejects.toBeInstanceOf(NoMatchingKey);
    await expect(cache.key(source, { alg: 'RS256', kid: 'unknown' }, T0 + source.cooldownMs + 1_000)).rejects.toBeInstanceOf(NoMatchingKey);
    expect(await fetches()).toBe(2);
  });

  it('keeps serving stale keys while the key server fails', async () => {
    const key = await testKey('ES256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    await cache.key(source, { alg: 'ES256', kid: 'k1' }, T0);
    await server.control({ jwks: 'error' });
    const stale = T0 + source.cacheMaxAgeMs + 1;
    await expect(cache.key(source, { alg: 'ES256', kid: 'k1' }, stale)).resolves.toBeInstanceOf(CryptoKey);
    expect(await fetches()).toBe(2); // it did try
  });

  it('keeps serving stale keys when the key server answers with something that is not a key set', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0);
    await server.control({ jwks: 'invalid' });
    await expect(cache.key(source, { alg: 'RS256', kid: 'k1' }, T0 + source.cacheMaxAgeMs)).resolves.toBeInstanceOf(CryptoKey);
  });

  it('keeps serving stale keys when the key server hangs past the timeout', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0);
    await server.control({ jwks: 'hang' });
    const quick = { ...source, timeoutMs: 100 };
    await expect(cache.key(quick, { alg: 'RS256', kid: 'k1' }, T0 + source.cacheMaxAgeMs)).resolves.toBeInstanceOf(CryptoKey);
  });

  it('does not ask a failing key server again on every request while it holds stale keys', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0);
    await server.control({ jwks: 'error' });
    const stale = T0 + source.cacheMaxAgeMs;
    for (let i = 0; i < 5; i++) await cache.key(source, { alg: 'RS256', kid: 'k1' }, stale + i * 100);
    expect(await fetches()).toBe(2);
  });

  it('gives up stale keys after staleIfError and answers KeyServerUnavailable', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [key.publicJwk] });
    await cache.key(source, { alg: 'RS256', kid: 'k1' }, T0);
    await server.control({ jwks: 'error' });
    const tooOld = T0 + source.cacheMaxAgeMs + source.staleIfErrorMs;
    await expect(cache.key(source, { alg: 'RS256', kid: 'k1' }, tooOld)).rejects.toBeInstanceOf(KeyServerUnavailable);
  });

  it('answers KeyServerUnavailable, not NoMatchingKey, when it has never had keys and the server is down', async () => {
    await server.control({ jwks: 'error' });
    await expect(cache.key(source, { alg: 'RS256', kid: 'k1' }, T0)).rejects.toBeInstanceOf(KeyServerUnavailable);
  });

  it('after a failed first fetch, waits a moment (at most 5 s) before asking again', async () => {
    await server.control({ jwks: 'error' });
    await expect(cache.key(source, { alg: 'RS256', kid: 'k1' }, T0)).rejects.toBeInstanceOf(KeyServerUnavailable);
    await expect(cache.key(source, { alg: 'RS256', kid: 'k1' }, T0 + 1_000)).rejects.toBeInstanceOf(KeyServerUnavailable);
    expect(await fetches()).toBe(1);
    const key = await testKey('RS256', 'k1');
    await server.control({ jwks: 'up', keys: [key.publicJwk] });
    await expect(cache.key(source, { alg: 'RS256', kid: 'k1' }, T0 + 5_000)).resolves.toBeInstanceOf(CryptoKey);
  });

  it('never takes a key of the wrong type for the algorithm (an RSA key for ES256, an oct key for anything)', async () => {
    const rsa = await testKey('RS256', 'k1');
    await server.control({ keys: [rsa.publicJwk, { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' }] });
    await expect(cache.key(source, { alg: 'ES256', kid: 'k1' }, T0)).rejects.toBeInstanceOf(NoMatchingKey);
    await expect(cache.key(source, { alg: 'HS256', kid: 'hmac' }, T0)).rejects.toBeInstanceOf(NoMatchingKey);
  });

  it('skips keys meant for encryption or for another algorithm', async () => {
    const key = await testKey('RS256', 'k1');
    await server.control({ keys: [{ ...key.publicJwk, use: 'enc' }, { ...key.publicJwk, kid: 'k2', alg: 'PS256' }] });
    await expect(cache.key(source, { alg: 'RS256', kid: 'k1' }, T0)).rejects.toBeInstanceOf(NoMatchingKey);
    await expect(cache.key(source, { alg: 'RS256', kid: 'k2' }, T0)).rejects.toBeInstanceOf(NoMatchingKey);
  });

  it('takes the only fitting key when the token has no kid, and refuses to guess among several', async () => {
    const [a, b] = await Promise.all([testKey('RS256', 'a'), testKey('RS256', 'b')]);
    await server.control({ keys: [a.publicJwk] });
    await expect(cache.key(source, { alg: 'RS256' }, T0)).resolves.toBeInstanceOf(CryptoKey);
    const other = new JwksCache();
    await server.control({ keys: [a.publicJwk, b.publicJwk] });
    await expect(other.key(source, { alg: 'RS256' }, T0)).rejects.toBeInstanceOf(NoMatchingKey);
  });

  it('imports only the public members of a key that was published with its private part', async () => {
    const key = await testKey('ES256', 'k1');
    const { exportJWK } = await import('jose');
    const privateJwk = { ...(await exportJWK(key.privateKey)), kid: 'k1', alg: 'ES256' };
    await server.control({ keys: [privateJwk] });
    const imported = await cache.key(source, { alg: 'ES256', kid: 'k1' }, T0);
    expect(imported.type).toBe('public');
  });
});
