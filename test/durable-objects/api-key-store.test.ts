/** ApiKeyStore, one shard of the API keys, through its RPC surface and inside the object. */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ApiKeyStore, NewApiKey } from '../../durable-objects/api-key-store.ts';

let n = 0;
function newKey(overrides: Partial<NewApiKey> = {}): NewApiKey {
  n++;
  return {
    id: `ak_0${String(n).padStart(16, '0')}`,
    keyHash: `${'0'.repeat(60)}${String(n).padStart(4, '0')}`,
    hint: 'egw_AbCd',
    name: `key ${n}`,
    consumer: 'acme',
    services: ['storage'],
    scopes: ['files:read'],
    createdAt: 1_800_000_000_000 + n,
    expiresAt: null,
    ...overrides,
  };
}

const shard = (name: string) => env.API_KEYS.getByName(name);

describe('ApiKeyStore', () => {
  it('creates the schema in its constructor: the api_keys table and the migrations record', async () => {
    const stub = shard('schema');
    await runInDurableObject(stub, async (_instance: ApiKeyStore, state) => {
      const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray().map((row) => row.name);
      expect(tables).toEqual(expect.arrayContaining(['api_keys', '_migrations']));
      expect(state.storage.sql.exec<{ version: number }>('SELECT MAX(version) AS version FROM _migrations').one().version).toBe(1);
    });
  });

  it('stores the hash, never a key, and finds the record by hash', async () => {
    const stub = shard('find');
    const key = newKey();
    const created = await stub.create(key);
    expect(created).toMatchObject({ id: key.id, consumer: 'acme', services: ['storage'], scopes: ['files:read'], revokedAt: null });
    expect(created).not.toHaveProperty('keyHash');
    expect(await stub.findByHash(key.keyHash)).toEqual(created);
    expect(await stub.findByHash('f'.repeat(64))).toBeNull();
  });

  it('is idempotent on create, so a retried call does not fail on its own first write', async () => {
    const stub = shard('idempotent');
    const key = newKey();
    const first = await stub.create(key);
    expect(await stub.create(key)).toEqual(first);
    expect(await stub.list()).toHaveLength(1);
  });

  it('stops finding a revoked key, and lists it with its revocation time', async () => {
    const stub = shard('revoke');
    const key = newKey();
    await stub.create(key);
    const revoked = await stub.revoke(key.id, 1_900_000_000_000);
    expect(revoked?.revokedAt).toBe(1_900_000_000_000);
    expect(await stub.findByHash(key.keyHash)).toBeNull();
    expect((await stub.list())[0]?.revokedAt).toBe(1_900_000_000_000);
  });

  it('keeps the first revocation time when revoked twice, and answers null for an unknown id', async () => {
    const stub = shard('revoke-twice');
    const key = newKey();
    await stub.create(key);
    await stub.revoke(key.id, 1);
    expect((await stub.revoke(key.id, 2))?.revokedAt).toBe(1);
    expect(await stub.revoke('ak_f0000000000000000', 3)).toBeNull();
  });

  it('lists keys in creation order', async () => {
    const stub = shard('list');
    const [a, b] = [newKey(), newKey()];
    await stub.create(b);
    await stub.create(a);
    expect((await stub.list()).map((record) => record.id)).toEqual([a.id, b.id]);
  });
});
