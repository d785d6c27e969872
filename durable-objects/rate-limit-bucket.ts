/** @module One rate-limit bucket (a service, route or consumer): the global truth its isolates lease tokens from. */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import { migrate } from '../src/state/infra/sqlite-migrations.ts';
import { LEASE_GRACE_MS, TokenBucketLedger, type AcquireResult, type BucketPolicy, type LeaseReturn } from '../src/state/machines/token-bucket.ts';

const MIGRATIONS = [
  `CREATE TABLE bucket (id INTEGER PRIMARY KEY CHECK (id = 1), tokens REAL, updated_at INTEGER NOT NULL);
   CREATE TABLE leases (id TEXT PRIMARY KEY, granted INTEGER NOT NULL, expires_at INTEGER NOT NULL);`,
];

/** Extra wait before an idle bucket's storage goes, so a client that pauses briefly does not recreate it at once. */
const IDLE_MARGIN_MS = 60_000;

/**
 * One bucket. An idle bucket (full, nothing on lease) is the same as a bucket never used, so an alarm deletes its
 * storage: per-IP and per-consumer buckets would otherwise only ever grow in number.
 */
export class RateLimitBucket extends DurableObject<Env> {
  #ledger = new TokenBucketLedger();
  /** The policy of the last acquire, to check the bucket is full before deleting it (lost on eviction). */
  #policy: BucketPolicy | undefined;
  /** False after the alarm deleted the storage: the next acquire recreates the tables first. */
  #hasSchema = true;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, MIGRATIONS);
      const row = ctx.storage.sql.exec<{ tokens: number | null; updated_at: number }>('SELECT tokens, updated_at FROM bucket').toArray()[0];
      const leases = new Map<string, { granted: number; expiresAt: number }>();
      for (const lease of ctx.storage.sql.exec<{ id: string; granted: number; expires_at: number }>('SELECT * FROM leases')) {
        leases.set(lease.id, { granted: lease.granted, expiresAt: lease.expires_at });
      }
      this.#ledger = new TokenBucketLedger({ tokens: row?.tokens ?? Number.NaN, updatedAt: row?.updated_at ?? 0, leases });
    });
  }

  /**
   * Takes back the unused part of the `returned` leases, then grants up to `want` tokens as a lease. The policy comes with
   * each call, so a configuration change applies at once. The new state is written before the answer leaves
   * (the output gate holds it until the write is durable), so an eviction loses nothing granted.
   */
  async acquire(policy: BucketPolicy, want: number, returned: LeaseReturn[] = []): Promise<AcquireResult> {
    if (!this.#hasSchema) {
      // The one schema change outside the constructor: the same migrations, on storage the idle alarm emptied.
      migrate(this.ctx.storage, MIGRATIONS);
      this.#hasSchema = true;
    }
    const now = Date.now();
    const before = new Set(this.#ledger.state.leases.keys());
    const result = this.#ledger.acquire(now, policy, want, returned);
    this.#policy = policy;
    const { state } = this.#ledger;
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      sql.exec(
        'INSERT INTO bucket (id, tokens, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at',
        state.tokens,
        state.updatedAt,
      );
      for (const id of before) if (!state.leases.has(id)) sql.exec('DELETE FROM leases WHERE id = ?', id);
      if (result.lease) sql.exec('INSERT INTO leases (id, granted, expires_at) VALUES (?, ?, ?)', result.lease.id, result.lease.granted, result.lease.expiresAt);
    });
    // Every acquire moves the alarm to when this bucket will be idle if no other call comes (setAlarm replaces it).
    await this.ctx.storage.setAlarm(this.#idleAt(now, policy));
    return result;
  }

  /**
   * Deletes the bucket's storage if it is idle: nothing on lease (or only leases written off) and, when the policy
   * is known, full. Otherwise tries again when it will be. Idempotent, as alarms are delivered at least once.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    let latestLeaseEnd = 0;
    for (const lease of this.#ledger.state.leases.values()) latestLeaseEnd = Math.max(latestLeaseEnd, lease.expiresAt + LEASE_GRACE_MS);
    let full = true;
    if (this.#policy) {
      this.#ledger.refill(now, this.#policy);
      full = this.#ledger.state.tokens >= this.#policy.capacity;
    }
    if (latestLeaseEnd > now || !full) {
      await this.ctx.storage.setAlarm(this.#policy ? this.#idleAt(now, this.#policy) : Math.max(latestLeaseEnd, now) + IDLE_MARGIN_MS);
      return;
    }
    await this.ctx.storage.deleteAll();
    this.#ledger = new TokenBucketLedger();
    this.#hasSchema = false;
  }

  /** When the bucket will be full and every lease written off, if nothing happens meanwhile (an upper bound). */
  #idleAt(now: number, policy: BucketPolicy): number {
    let latestLeaseEnd = now;
    for (const lease of this.#ledger.state.leases.values()) latestLeaseEnd = Math.max(latestLeaseEnd, lease.expiresAt + LEASE_GRACE_MS);
    const refillMs = Math.ceil((policy.capacity / policy.ratePerSecond) * 1000);
    return latestLeaseEnd + refillMs + IDLE_MARGIN_MS;
  }

  /** The bucket as it stands, for the admin API and tests. */
  async inspect(policy: BucketPolicy): Promise<{ tokens: number; onLease: number; leases: number }> {
    this.#ledger.refill(Date.now(), policy);
    return { tokens: this.#ledger.state.tokens, onLease: this.#ledger.onLease(), leases: this.#ledger.state.leases.size };
  }
}
