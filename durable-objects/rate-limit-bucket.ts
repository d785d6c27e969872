/** @module One rate-limit bucket (a service, route or consumer): the global truth its isolates lease tokens from. */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import { migrate } from '../src/state/sqlite-migrations.ts';
import { TokenBucketLedger, type AcquireResult, type BucketPolicy, type LeaseReturn } from '../src/state/token-bucket.ts';

const MIGRATIONS = [
  `CREATE TABLE bucket (id INTEGER PRIMARY KEY CHECK (id = 1), tokens REAL, updated_at INTEGER NOT NULL);
   CREATE TABLE leases (id TEXT PRIMARY KEY, granted INTEGER NOT NULL, expires_at INTEGER NOT NULL);`,
];

export class RateLimitBucket extends DurableObject<Env> {
  #ledger = new TokenBucketLedger();

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
    const before = new Set(this.#ledger.state.leases.keys());
    const result = this.#ledger.acquire(Date.now(), policy, want, returned);
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
    return result;
  }

  /** The bucket as it stands, for the admin API and tests. */
  async inspect(policy: BucketPolicy): Promise<{ tokens: number; onLease: number; leases: number }> {
    this.#ledger.refill(Date.now(), policy);
    return { tokens: this.#ledger.state.tokens, onLease: this.#ledger.onLease(), leases: this.#ledger.state.leases.size };
  }
}
