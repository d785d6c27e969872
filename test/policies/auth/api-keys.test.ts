/** ApiKeyResolver on the request path: format, hashing, isolate cache and its bounded staleness, expiry. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ApiKeyResolver, generateApiKey, shardName, shardOfId, TooManyFailedAuthentications } from '../../../src/policies/auth/api-keys.ts';
import { crc32 } from '../../../src/policies/auth/crc32.ts';
import { sha256Hex } from '../../../src/policies/auth/digest.ts';
import { TokenRejected } from '../../../src/policies/auth/token-format.ts';
import type { Env } from '../../../src/env.ts';

const T0 = 1_800_000_000_000;
const SETTINGS = { cacheTtlSeconds: 30, negativeCacheTtlSeconds: 5, legacyKeys: 'accept', maxFailuresPerAddress: 3, failureWindowSeconds: 60 } as const;
/** Any call to the key store throws a TypeError with this environment: a test that passes with it made none. */
const NO_STORE = { ...env, API_KEYS: undefined } as unknown as Env;

/** Stores a new key directly in its shard, as the admin API would. */
async function storeKey(overrides: { expiresAt?: number | null } = {}) {
  const generated = await generateApiKey();
  await env.API_KEYS.getByName(shardName(generated.shard)).create({
    id: generated.id,
    keyHash: generated.keyHash,
    hint: generated.hint,
    name: 'test',
    consumer: 'acme',
    services: ['storage'],
    scopes: ['files:read'],
    createdAt: T0,
    expiresAt: overrides.expiresAt ?? null,
  });
  return generated;
}

const revoke = (generated: { id: string; shard: string }) => env.API_KEYS.getByName(shardName(generated.shard)).revoke(generated.id, T0);

describe('generateApiKey', () => {
  it('makes 256-bit egw_ keys whose id names the shard of their hash', async () => {
    const { key, keyHash, id, shard } = await generateApiKey();
    expect(key).toMatch(/^egw_[A-Za-z0-9_-]{49}$/);
    expect(keyHash).toBe(await sha256Hex(key));
    expect(shard).toBe(keyHash[0]);
    expect(shardOfId(id)).toBe(shard);
  });

  it('never makes the same key twice', async () => {
    const keys = new Set(await Promise.all(Array.from({ length: 50 }, async () => (await generateApiKey()).key)));
    expect(keys.size).toBe(50);
  });
});

describe('ApiKeyResolver', () => {
  it('resolves a stored key to its record and a consumer identity', async () => {
    const stored = await storeKey();
    const { record, identity } = await new ApiKeyResolver(SETTINGS).resolve(stored.key, env as Env, T0);
    expect(record.id).toBe(stored.id);
    expect(identity).toMatchObject({ method: 'api-key', subject: 'acme', consumerId: 'api-key:acme', roles: [], scopes: ['files:read'] });
  });

  it('refuses a string that is not an API key without asking the store', async () => {
    const resolver = new ApiKeyResolver(SETTINGS);
    const brokenEnv = { ...env, API_KEYS: undefined } as unknown as Env; // any store call would throw a TypeError
    await expect(resolver.resolve('egw_short', brokenEnv, T0)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('keeps answering from its cache for cacheTtlSeconds after a revocation, then refuses the key', async () => {
    const stored = await storeKey();
    const resolver = new ApiKeyResolver(SETTINGS);
    await resolver.resolve(stored.key, env as Env, T0);
    await revoke(stored);
    await expect(resolver.resolve(stored.key, env as Env, T0 + 29_999)).resolves.toBeDefined();
    await expect(resolver.resolve(stored.key, env as Env, T0 + 30_000)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('remembers an unknown key for negativeCacheTtlSeconds', async () => {
    const generated = await generateApiKey();
    const resolver = new ApiKeyResolver(SETTINGS);
    await expect(resolver.resolve(generated.key, env as Env, T0)).rejects.toBeInstanceOf(TokenRejected);
    // Stored now, but the negative answer is still cached for 5 s.
    await env.API_KEYS.getByName(shardName(generated.shard)).create({ id: generated.id, keyHash: generated.keyHash, hint: generated.hint, name: 'late', consumer: 'acme', services: ['storage'], scopes: [], createdAt: T0, expiresAt: null });
    await expect(resolver.resolve(generated.key, env as Env, T0 + 4_999)).rejects.toBeInstanceOf(TokenRejected);
    await expect(resolver.resolve(generated.key, env as Env, T0 + 5_000)).resolves.toBeDefined();
  });

  it('refuses a key once its expiresAt has passed, even from the cache', async () => {
    const stored = await storeKey({ expiresAt: T0 + 10_000 });
    const resolver = new ApiKeyResolver(SETTINGS);
    await expect(resolver.resolve(stored.key, env as Env, T0)).resolves.toBeDefined();
    await expect(resolver.resolve(stored.key, env as Env, T0 + 10_000)).rejects.toMatchObject({ failure: 'expired' });
  });
});

describe('crc32', () => {
  it('matches the standard check value of CRC-32/ISO-HDLC', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array())).toBe(0);
  });
});

// Issue 9: any well-formed random key used to cost a synchronous Durable Object lookup.
describe('API key checksums and the failed-authentication limit', () => {
  it('ends every new key with the CRC-32 of the rest, in base64url', async () => {
    const { key } = await generateApiKey();
    const body = key.slice(0, -6);
    const sum = crc32(new TextEncoder().encode(body));
    const bytes = new Uint8Array([sum >>> 24, (sum >>> 16) & 255, (sum >>> 8) & 255, sum & 255]);
    expect(key.slice(-6)).toBe(btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''));
  });

  it('refuses a well-formed key whose checksum does not verify without asking the store', async () => {
    const { key } = await generateApiKey();
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const forged = key.slice(0, -1) + last;
    await expect(new ApiKeyResolver(SETTINGS).resolve(forged, NO_STORE, T0)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('still resolves a key of the old format (no checksum) while legacyKeys is "accept", and refuses it locally on "reject"', async () => {
    const generated = await generateApiKey();
    const legacy = generated.key.slice(0, 47); // egw_ + 43 characters, the format before checksums
    const keyHash = await sha256Hex(legacy);
    const id = `ak_${keyHash[0]}${'0'.repeat(16)}`;
    await env.API_KEYS.getByName(shardName(keyHash[0]!)).create({ id, keyHash, hint: legacy.slice(0, 8), name: 'old', consumer: 'acme', services: ['storage'], scopes: [], createdAt: T0, expiresAt: null });
    await expect(new ApiKeyResolver(SETTINGS).resolve(legacy, env as Env, T0)).resolves.toMatchObject({ record: { id } });
    await expect(new ApiKeyResolver({ ...SETTINGS, legacyKeys: 'reject' }).resolve(legacy, NO_STORE, T0)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('after maxFailuresPerAddress failures from one address, refuses it before any lookup until the window passes', async () => {
    const resolver = new ApiKeyResolver(SETTINGS);
    const unknown = async () => (await generateApiKey()).key; // valid checksums, stored nowhere
    for (let i = 0; i < 3; i++) await expect(resolver.resolve(await unknown(), env as Env, T0, '192.0.2.7')).rejects.toBeInstanceOf(TokenRejected);
    const stored = await storeKey();
    // A good key this isolate has not seen is refused now, without a lookup: the store is not even reachable here.
    const refused = resolver.resolve(stored.key, NO_STORE, T0 + 1_000, '192.0.2.7');
    await expect(refused).rejects.toBeInstanceOf(TooManyFailedAuthentications);
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 59 });
    // So are malformed and forged keys (no 401 that would tell them apart), and they add no failure.
    await expect(resolver.resolve('not-a-key', NO_STORE, T0 + 1_000, '192.0.2.7')).rejects.toBeInstanceOf(TooManyFailedAuthentications);
    // Other addresses are not affected, and the address is let in again after the window.
    await expect(resolver.resolve(stored.key, env as Env, T0 + 1_000, '192.0.2.8')).resolves.toBeDefined();
    await expect(resolver.resolve(stored.key, env as Env, T0 + 60_000, '192.0.2.7')).resolves.toBeDefined();
  });

  it('lets a key it already holds as valid through from a locked-out address: a neighbour behind the same NAT cannot lock its users out', async () => {
    const resolver = new ApiKeyResolver(SETTINGS);
    const stored = await storeKey();
    // The client's key is resolved (and cached) before its neighbour starts guessing from the same address.
    await expect(resolver.resolve(stored.key, env as Env, T0, '198.51.100.4')).resolves.toBeDefined();
    for (let i = 0; i < 3; i++) await expect(resolver.resolve((await generateApiKey()).key, env as Env, T0, '198.51.100.4')).rejects.toBeInstanceOf(TokenRejected);
    await expect(resolver.resolve((await generateApiKey()).key, NO_STORE, T0 + 1_000, '198.51.100.4')).rejects.toBeInstanceOf(TooManyFailedAuthentications);
    // No lookup is needed for the cached key (the store is unreachable here), so it goes through.
    await expect(resolver.resolve(stored.key, NO_STORE, T0 + 1_000, '198.51.100.4')).resolves.toMatchObject({ record: { id: stored.id } });
  });
});
