/**
 * @module Token bucket with leases: the ledger a rate-limit Durable Object keeps. Isolates lease tokens in batches
 * and spend them locally; tokens out on lease still count against the bucket's capacity, so the admitted total can
 * never exceed the bucket's bound, however many isolates share it.
 */

export interface BucketPolicy {
  /** Tokens added per second (limit / window). */
  ratePerSecond: number;
  /** Most tokens that can exist at once, in the bucket or out on lease: the burst. */
  capacity: number;
  /** Largest lease, in tokens. */
  maxLease: number;
  /** How long a lease may be spent, in ms. */
  leaseTtlMs: number;
}

export interface Lease {
  id: string;
  granted: number;
  /** The object's clock: the isolate must not spend the lease at or after this time. */
  expiresAt: number;
}

export interface LeaseReturn {
  leaseId: string;
  /** Tokens of the lease the isolate did not spend. */
  unused: number;
}

export interface AcquireResult {
  lease: Lease | undefined;
  /** Whole tokens left in the bucket after this grant (tokens out on other leases not included). */
  remaining: number;
  /** With no lease granted: how long until a token can be had, in ms. */
  retryAfterMs: number;
  /** How long until the bucket would be full again, in ms. */
  resetMs: number;
}

/**
 * A lease that was neither returned nor renewed is written off this long after it expired, as spent. The grace
 * covers clock differences between the isolate and the object; writing it off as spent errs on admitting less.
 */
export const LEASE_GRACE_MS = 2_000;

export interface LedgerState {
  tokens: number;
  updatedAt: number;
  leases: Map<string, { granted: number; expiresAt: number }>;
}

/**
 * The bucket's arithmetic, with time passed in so it can be tested on a controlled clock. Invariant:
 * `tokens + tokens on lease ≤ capacity`, hence over any interval T the tokens spent are at most
 * `capacity + ratePerSecond × T`: "limit + burst" over a window.
 */
export class TokenBucketLedger {
  readonly state: LedgerState;
  #nextLeaseId = 0;

  constructor(state?: LedgerState) {
    this.state = state ?? { tokens: Number.NaN, updatedAt: 0, leases: new Map() };
  }

  onLease(): number {
    let sum = 0;
    for (const lease of this.state.leases.values()) sum += lease.granted;
    return sum;
  }

  /** Brings the bucket up to `now`: writes off long-expired leases, then refills up to what they leave room for. */
  refill(now: number, policy: BucketPolicy): void {
    const { state } = this;
    for (const [id, lease] of state.leases) if (lease.expiresAt + LEASE_GRACE_MS <= now) state.leases.delete(id);
    const room = Math.max(0, policy.capacity - this.onLease());
    if (Number.isNaN(state.tokens)) {
      state.tokens = room; // a new bucket starts full
    } else {
      const elapsed = Math.max(0, now - state.updatedAt) / 1000;
      state.tokens = Math.min(room, state.tokens + elapsed * policy.ratePerSecond);
    }
    state.updatedAt = Math.max(state.updatedAt, now);
  }

  /**
   * Takes back the unused part of each `returned` lease still on the books, then grants up to `want` tokens as a
   * new lease.
   */
  acquire(now: number, policy: BucketPolicy, want: number, returned: readonly LeaseReturn[] = []): AcquireResult {
    const { state } = this;
    this.refill(now, policy);
    for (const { leaseId, unused } of returned) {
      const lease = state.leases.get(leaseId);
      if (!lease) continue;
      state.leases.delete(leaseId);
      state.tokens = Math.min(policy.capacity - this.onLease(), state.tokens + Math.max(0, Math.min(unused, lease.granted)));
    }
    const granted = Math.max(0, Math.min(Math.floor(want), Math.floor(state.tokens), policy.maxLease));
    let lease: Lease | undefined;
    if (granted > 0) {
      state.tokens -= granted;
      // Unique across evictions too: a restarted object starts its counter again.
      const id = `${now.toString(36)}-${(this.#nextLeaseId++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      lease = { id, granted, expiresAt: now + policy.leaseTtlMs };
      state.leases.set(lease.id, { granted, expiresAt: lease.expiresAt });
    }
    return {
      lease,
      remaining: Math.floor(state.tokens),
      retryAfterMs: lease ? 0 : this.#msUntilToken(now, policy),
      resetMs: Math.ceil(((policy.capacity - this.onLease() - state.tokens) / policy.ratePerSecond) * 1000),
    };
  }

  #msUntilToken(now: number, policy: BucketPolicy): number {
    const byRefill = Math.ceil(((1 - this.state.tokens) / policy.ratePerSecond) * 1000);
    if (policy.capacity - this.onLease() >= 1) return Math.max(1, byRefill);
    // Every token is out on lease: room comes back when the earliest lease is returned or written off.
    let earliest = Number.POSITIVE_INFINITY;
    for (const lease of this.state.leases.values()) earliest = Math.min(earliest, lease.expiresAt + LEASE_GRACE_MS);
    return Math.max(1, byRefill, earliest - now);
  }
}
