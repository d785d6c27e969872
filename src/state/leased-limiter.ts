/**
 * @module The isolate's side of a rate limit: it spends tokens leased from the bucket object, so most requests
 * are admitted or refused without a Durable Object round trip.
 */
import type { AcquireResult, Lease, LeaseReturn } from './token-bucket.ts';

export interface Admission {
  allowed: boolean;
  /** Best local estimate of the requests left: this isolate's lease plus the bucket at its last answer. */
  remaining: number;
  /** Seconds until the bucket is full again (the draft's `t` when allowed). */
  resetSeconds: number;
  /** When refused: seconds until a retry can succeed (Retry-After). */
  retryAfterSeconds: number;
}

/** Asks the bucket object for a lease of `want` tokens, handing back what is left of the previous one. */
export type AcquireLease = (want: number, returned: LeaseReturn | undefined) => Promise<AcquireResult>;

/**
 * One rate-limit key as this isolate sees it. A lease is sized to what this isolate is expected to spend in half
 * its lifetime, from a decaying estimate of its own request rate: busy isolates take large leases and call the
 * object rarely, quiet ones take one token at a time and leave little unspent (unspent tokens that come back
 * after the object wrote their lease off are lost to everyone). A refusal is remembered until the bucket said a
 * token would be back, so an attack is refused locally rather than with a call per request.
 */
export class LeasedLimiter {
  #lease: (Lease & { remaining: number }) | undefined;
  /** Requests per ms seen here, decaying with a time constant of one lease lifetime. */
  #rate = 0;
  #rateAt = 0;
  #blockedUntil = 0;
  /** When the bucket said a token would be back (without this isolate's jitter): for Retry-After. */
  #retryAt = 0;
  #bucketRemaining = 0;
  #resetAt = 0;
  #pending: Promise<void> | undefined;
  /** Requests waiting on the renewal under way: the next lease is at least big enough for them all. */
  #waiting = 0;
  readonly #maxLease: number;
  readonly #leaseTtlMs: number;
  readonly #random: () => number;

  constructor(options: { maxLease: number; leaseTtlMs: number }, random: () => number = Math.random) {
    this.#maxLease = options.maxLease;
    this.#leaseTtlMs = options.leaseTtlMs;
    this.#random = random;
  }

  /**
   * Admits or refuses one request at `now`. Calls `acquire` only when the local lease is spent or expired and no
   * refusal is cached; concurrent requests share one call.
   */
  async admit(now: () => number, acquire: AcquireLease): Promise<Admission> {
    this.#countRequest(now());
    // Each round either finds a token, or meets a refusal from the bucket, or waits for a renewal that brings
    // one of the two: a request is refused only on the bucket's word, never because others took the lease first.
    for (;;) {
      const at = now();
      const lease = this.#lease;
      if (lease && lease.remaining > 0 && at < lease.expiresAt) {
        lease.remaining -= 1;
        return this.#admission(true, at);
      }
      if (at < this.#blockedUntil) return this.#admission(false, at);
      this.#waiting += 1;
      this.#pending ??= this.#renew(at, acquire).finally(() => (this.#pending = undefined));
      try {
        await this.#pending;
      } finally {
        this.#waiting -= 1;
      }
    }
  }

  #countRequest(at: number): void {
    const tau = this.#leaseTtlMs;
    this.#rate = this.#rate * Math.exp(-Math.max(0, at - this.#rateAt) / tau) + 1 / tau;
    this.#rateAt = at;
  }

  async #renew(at: number, acquire: AcquireLease): Promise<void> {
    const previous = this.#lease;
    // Unspent tokens go back even from an expired lease: this isolate stopped spending it at expiry, and the
    // object still has it on the books until the grace period ends.
    const returned: LeaseReturn | undefined = previous && { leaseId: previous.id, unused: previous.remaining };
    const want = Math.min(this.#maxLease, Math.max(this.#waiting, Math.floor((this.#rate * this.#leaseTtlMs) / 2)));
    // Forget the old lease first: if the call fails, nothing may be spent from it twice.
    this.#lease = undefined;
    const result = await acquire(want, returned);
    this.#bucketRemaining = result.remaining;
    this.#resetAt = at + result.resetMs;
    if (result.lease) {
      this.#lease = { ...result.lease, remaining: result.lease.granted };
    } else {
      // Spread the retries of many isolates over a tenth of the wait, so they don't all return at once.
      this.#retryAt = at + result.retryAfterMs;
      this.#blockedUntil = at + result.retryAfterMs * (1 + this.#random() * 0.1);
    }
  }

  #admission(allowed: boolean, at: number): Admission {
    return {
      allowed,
      remaining: (this.#lease && at < this.#lease.expiresAt ? this.#lease.remaining : 0) + this.#bucketRemaining,
      resetSeconds: Math.max(0, Math.ceil((this.#resetAt - at) / 1000)),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((this.#retryAt - at) / 1000)),
    };
  }
}
