import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { RateLimitBucket } from '../../durable-objects/rate-limit-bucket.ts';
import type { BucketPolicy } from '../../src/state/machines/token-bucket.ts';

const policy: BucketPolicy = { ratePerSecond: 200 / 60, capacity: 400, maxLease: 50, leaseTtlMs: 2_000 };

describe('RateLimitBucket', () => {
  it('grants leases from a full bucket and refuses once the burst is spent', async () => {
    const stub = env.RATE_LIMITS.getByName('test/grants');
    let granted = 0;
    for (let i = 0; i < 10; i++) {
      const result = await stub.acquire(policy, 50);
      if (result.lease) await stub.acquire(policy, 0, [{ leaseId: result.lease.id, unused: 0 }]);
      granted += result.lease?.granted ?? 0;
    }
    expect(granted).toBe(400);
    const refused = await stub.acquire(policy, 1);
    expect(refused.lease).toBeUndefined();
    expect(refused.retryAfterMs).toBeGreaterThan(0);
  });

  it('keeps its tokens and outstanding leases through an eviction', async () => {
    const stub = env.RATE_LIMITS.getByName('test/eviction');
    const lease = (await stub.acquire(policy, 50)).lease!;
    await stub.acquire(policy, 50);
    const before = await stub.inspect(policy);
    expect(before).toMatchObject({ onLease: 100, leases: 2 });

    await evictDurableObject(stub);

    const after = await stub.inspect(policy);
    expect(after.onLease).toBe(100);
    expect(after.leases).toBe(2);
    expect(after.tokens).toBeGreaterThanOrEqual(before.tokens);
    expect(after.tokens).toBeLessThan(before.tokens + 5);
    // A lease granted before the eviction can still be returned after it.
    const returned = await stub.acquire(policy, 0, [{ leaseId: lease.id, unused: 50 }]);
    expect(returned.remaining).toBeGreaterThanOrEqual(Math.floor(before.tokens) + 50);
  });

  it('stores its state in SQLite tables, created by a versioned migration', async () => {
    const stub = env.RATE_LIMITS.getByName('test/schema');
    await stub.acquire(policy, 5);
    const tables = await runInDurableObject(stub, (_: RateLimitBucket, state) =>
      state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray().map((row) => row.name),
    );
    expect(tables).toEqual(expect.arrayContaining(['_migrations', 'bucket', 'leases']));
    const version = await runInDurableObject(stub, (_: RateLimitBucket, state) =>
      state.storage.sql.exec<{ version: number }>('SELECT MAX(version) AS version FROM _migrations').one().version,
    );
    expect(version).toBe(1);
  });
});

// Issue 9: per-IP and per-consumer buckets used to keep their rows forever.
describe('RateLimitBucket storage of an idle bucket', () => {
  const small: BucketPolicy = { ratePerSecond: 1_000, capacity: 2, maxLease: 1, leaseTtlMs: 60_000 };
  const tables = (stub: DurableObjectStub<RateLimitBucket>) =>
    runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().map((row) => row.name));

  it('is deleted by an alarm once the bucket is full and nothing is on lease, and the bucket starts full again', async () => {
    const stub = env.RATE_LIMITS.getByName('test/idle-ip');
    const lease = (await stub.acquire(small, 1)).lease!;
    await stub.acquire(small, 0, [{ leaseId: lease.id, unused: 1 }]);
    expect(await tables(stub)).toContain('bucket');

    expect(await runDurableObjectAlarm(stub)).toBe(true);

    expect(await tables(stub)).toEqual([]);
    const again = await stub.acquire(small, 2);
    expect(again.lease?.granted).toBe(1);
    expect(again.remaining).toBe(1);
  });

  it('is kept while a lease is out', async () => {
    const stub = env.RATE_LIMITS.getByName('test/leased-ip');
    await stub.acquire(small, 1);
    await runDurableObjectAlarm(stub);
    expect(await tables(stub)).toContain('leases');
    expect(await stub.inspect(small)).toMatchObject({ onLease: 1, leases: 1 });
  });
});
