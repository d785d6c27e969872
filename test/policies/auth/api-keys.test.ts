/** ApiKeyResolver on the request path: format, hashing, isolate cache and its bounded staleness, expiry. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ApiKeyResolver, generateApiKey, shardName, shardOfId } from '../../../src/policies/auth/api-keys.ts';
import { sha256Hex } from '../../../src/policies/auth/digest.ts';
import { TokenRejected } from '../../../src/policies/auth/token-format.ts';
import type { Env } from '../../../src/env.ts';

const T0 = 1_800_000_000_000;

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
    expect(key).toMatch(/^egw_[A-Za-z0-9_-]{43}$/);
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
    const { record, identity } = await new ApiKeyResolver({ cacheTtlSeconds: 30, negativeCacheTtlSeconds: 5 }).resolve(stored.key, env as Env, T0);
    expect(record.id).toBe(stored.id);
    expect(identity).toMatchObject({ method: 'api-key', subject: 'acme', consumerId: 'api-key:acme', roles: [], scopes: ['files:read'] });
  });

  it('refuses a string that is not an API key without asking the store', async () => {
    const resolver = new ApiKeyResolver({ cacheTtlSeconds: 30, negativeCacheTtlSeconds: 5 });
    const brokenEnv = { ...env, API_KEYS: undefined } as unknown as Env; // any store call would throw a TypeError
    await expect(resolver.resolve('egw_short', brokenEnv, T0)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('keeps answering from its cache for cacheTtlSeconds after a revocation, then refuses the key', async () => {
    const stored = await storeKey();
    const resolver = new ApiKeyResolver({ cacheTtlSeconds: 30, negativeCacheTtlSeconds: 5 });
    await resolver.resolve(stored.key, env as Env, T0);
    await revoke(stored);
    await expect(resolver.resolve(stored.key, env as Env, T0 + 29_999)).resolves.toBeDefined();
    await expect(resolver.resolve(stored.key, env as Env, T0 + 30_000)).rejects.toBeInstanceOf(TokenRejected);
  });

  it('remembers an unknown key for negativeCacheTtlSeconds', async () => {
    const generated = await generateApiKey();
    const resolver = new ApiKeyResolver({ cacheTtlSeconds: 30, negativeCacheTtlSeconds: 5 });
    await expect(resolver.resolve(generated.key, env as Env, T0)).rejects.toBeInstanceOf(TokenRejected);
    // Stored now, but the negative answer is still cached for 5 s.
    await env.API_KEYS.getByName(shardName(generated.shard)).create({ id: generated.id, keyHash: generated.keyHash, hint: generated.hint, name: 'late', consumer: 'acme', services: ['storage'], scopes: [], createdAt: T0, expiresAt: null });
    await expect(resolver.resolve(generated.key, env as Env, T0 + 4_999)).rejects.toBeInstanceOf(TokenRejected);
    await expect(resolver.resolve(generated.key, env as Env, T0 + 5_000)).resolves.toBeDefined();
  });

  it('refuses a key once its expiresAt has passed, even from the cache', async () => {
    const stored = await storeKey({ expiresAt: T0 + 10_000 });
    const resolver = new ApiKeyResolver({ cacheTtlSeconds: 30, negativeCacheTtlSeconds: 5 });
    await expect(resolver.resolve(stored.key, env as Env, T0)).resolves.toBeDefined();
    await expect(resolver.resolve(stored.key, env as Env, T0 + 10_000)).rejects.toMatchObject({ failure: 'expired' });
  });
});
