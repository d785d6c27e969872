/**
 * @module The isolate's side of a rate limit: it spends tokens leased from the bucket object, so most requests
 * are admitted or refused without a Durable Object round trip.
 */
import { StateBackoff } from './call-durable-object.ts';
import type { AcquireResult, Lease, LeaseReturn } from '../machines/token-bucket.ts';

export interface Admission {
  allowed: boolean;
  /** Best local estimate of the requests left: this isolate's leases plus the bucket at its last answer. */
  remaining: number;
  /** Seconds until the bucket is full again (the draft's `t` when allowed). */
  resetSeconds: number;
  /** When refused: seconds until a retry can succeed (Retry-After). */
  retryAfterSeconds: number;
}

/** Asks the bucket object for a lease of `want` tokens, handing back what is left of expired leases. */
export type AcquireLease = (want: number, returned: LeaseReturn[]) => Promise<AcquireResult>;

type HeldLease = Lease & { remaining: number };

/**
 * A lease is sized to what this isolate is expected to spend in half the lease's lifetime, or in this share of it
 * while tokens are scarce (the bucket's last answer refused, or had less left than was asked). Tokens on lease
 * count against the bucket's capacity until the lease comes back, spent or not, so above the limit a lease spent
 * slowly keeps its spent tokens from making room for the refill: with half-lifetime leases throughout, at the target
 * scenario about the whole burst sat on the books and 14% of the limit went unused (docs/scale.md). A fifth hands
 * leases back sooner while demand exceeds the limit, for more calls only then; below it leases stay large.
 */
export const SCARCE_LEASE_SPEND_SHARE = 1 / 5;

/**
 * One rate-limit key as this isolate sees it. A lease is sized to what this isolate is expected to spend in half
 * its lifetime (SCARCE_LEASE_SPEND_SHARE of it while tokens are scarce), from a decaying estimate of its own
 * request rate: busy isolates take large leases and call the object rarely, quiet ones take one token at a time and leave little unspent (unspent tokens that come back
 * after the object wrote their lease off are lost to everyone). A refusal is remembered until the bucket said a
 * token would be back, so an attack is refused locally rather than with a call per request.
 *
 * A request whose isolate has no token left makes its own call, even when another request's call is under way:
 * in Workers a promise shared between requests resumes the waiting request in the context of the request that
 * resolved it, where its I/O fails, and it hangs if that request is gone. The isolate may therefore hold several
 * leases at once; each renewal hands back the spent ones and the unspent tokens of the expired ones.
 */
export class LeasedLimiter {
  #leases: HeldLease[] = [];
  /** Requests per ms seen here, decaying with a time constant of one lease lifetime. */
  #rate = 0;
  #rateAt = 0;
  #blockedUntil = 0;
  /** When the bucket said a token would be back (without this isolate's jitter): for Retry-After. */
  #retryAt = 0;
  #bucketRemaining = 0;
  /** The bucket's last answer refused, or had less left than was asked: leases are sized for a shorter spend. */
  #scarce = false;
  #resetAt = 0;
  /** Until when a failed acquire keeps this isolate from calling the bucket object again. */
  #unreachableUntil = 0;
  readonly #maxLease: number;
  readonly #leaseTtlMs: number;
  readonly #unreachableBackoffMs: number;
  readonly #random: () => number;

  /**
   * `unreachableBackoffMs`: after an acquire throws, `admit` throws `StateBackoff` at once for this long rather
   * than call the object again (tokens still held on lease are spent meanwhile).
   */
  constructor(options: { maxLease: number; leaseTtlMs: number; unreachableBackoffMs?: number }, random: () => number = Math.random) {
    this.#maxLease = options.maxLease;
    this.#leaseTtlMs = options.leaseTtlMs;
    this.#unreachableBackoffMs = options.unreachableBackoffMs ?? 0;
    this.#random = random;
  }

  /**
   * Admits or refuses one request at `now`. Calls `acquire` only when no lease held here has a token left and no
   * refusal is cached; the token a renewal brings is this request's before any other can take it. Throws what
   * `acquire` throws, and `StateBackoff` without calling while backing off after such a failure.
   */
  async admit(now: () => number, acquire: AcquireLease): Promise<Admission> {
    return this.admitLocally(now()) ?? this.admitByLease(now, acquire);
  }

  /**
   * The decision `admit` takes without a call, when it can: a token of a lease held here, or a refusal still
   * cached. Undefined when only a call can decide: then `admitByLease` (and not `admit`, which would count the
   * request twice). The request path uses the pair so that most requests wait on no promise.
   */
  admitLocally(at: number): Admission | undefined {
    this.#countRequest(at);
    if (this.#take(at)) return this.#admission(true, at);
    if (at < this.#blockedUntil) return this.#admission(false, at);
    return undefined;
  }

  /** The rest of `admit`, after `admitLocally` found no token and no cached refusal. */
  async admitByLease(now: () => number, acquire: AcquireLease): Promise<Admission> {
    let at = now();
    if (at < this.#unreachableUntil) throw new StateBackoff(`bucket object failed; not called again for ${this.#unreachableUntil - at} ms`);

    // Spent and expired leases go back: spent ones free their room in the bucket at once, and unspent tokens of
    // expired ones are still on the object's books until its grace period ends (this isolate stopped spending them).
    const returned: LeaseReturn[] = [];
    this.#leases = this.#leases.filter((lease) => {
      if (lease.remaining > 0 && at < lease.expiresAt) return true;
      returned.push({ leaseId: lease.id, unused: lease.remaining });
      return false;
    });
    const share = this.#scarce ? SCARCE_LEASE_SPEND_SHARE : 0.5;
    const want = Math.min(this.#maxLease, Math.max(1, Math.floor(this.#rate * this.#leaseTtlMs * share)));
    let result: AcquireResult;
    try {
      result = await acquire(want, returned);
    } catch (error) {
      this.#unreachableUntil = now() + this.#unreachableBackoffMs;
      throw error;
    }
    at = now();
    this.#bucketRemaining = result.remaining;
    this.#scarce = !result.lease || result.remaining < want;
    this.#resetAt = at + result.resetMs;
    if (result.lease) {
      this.#leases.push({ ...result.lease, remaining: result.lease.granted - 1 });
      return this.#admission(true, at);
    }
    // Another request's renewal may have brought tokens meanwhile.
    if (this.#take(at)) return this.#admission(true, at);
    this.#retryAt = at + result.retryAfterMs;
    // Spread the retries of many isolates over a tenth of the wait, so they don't all return at once.
    this.#blockedUntil = at + result.retryAfterMs * (1 + this.#random() * 0.1);
    return this.#admission(false, at);
  }

  /** Spends a token of a lease still valid at `at`, if any is left. */
  #take(at: number): boolean {
    for (const lease of this.#leases) {
      if (lease.remaining > 0 && at < lease.expiresAt) {
        lease.remaining -= 1;
        return true;
      }
    }
    return false;
  }

  #countRequest(at: number): void {
    const tau = this.#leaseTtlMs;
    this.#rate = this.#rate * Math.exp(-Math.max(0, at - this.#rateAt) / tau) + 1 / tau;
    this.#rateAt = at;
  }

  #admission(allowed: boolean, at: number): Admission {
    let held = 0;
    for (const lease of this.#leases) if (at < lease.expiresAt) held += lease.remaining;
    return {
      allowed,
      remaining: held + this.#bucketRemaining,
      resetSeconds: Math.max(0, Math.ceil((this.#resetAt - at) / 1000)),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((this.#retryAt - at) / 1000)),
    };
  }
}
