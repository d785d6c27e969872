/**
 * @module The location tier's side of a rate limit: a regional object leases tokens from the global bucket in
 * large blocks and re-leases them to its isolates in small ones. Tokens out on lease count against capacity at
 * both levels: the global bucket counts a block until it comes back or is written off, and the region never
 * grants more than its live blocks hold, each isolate lease ending no later than its block. So every token an
 * isolate spends was granted once by the global bucket, inside the block's lifetime, and admissions stay within
 * limit + burst over any window, however many regions and isolates share the bucket.
 */
import { LEASE_GRACE_MS, type AcquireResult, type BucketPolicy, type Lease, type LeaseReturn } from './token-bucket.ts';

/** A block leased from the global bucket and what the region has done with it. */
interface Block {
  id: string;
  granted: number;
  expiresAt: number;
  /** Tokens of the block not re-leased (or handed back by isolates before the block ended). */
  available: number;
  /** Isolate leases drawn from the block and still on the region's books. */
  out: number;
}

export interface RegionLeaseOptions {
  /** The largest block asked of the global bucket, as a multiple of the policy's `maxLease`. */
  blockFactor: number;
}

export class RegionLeasePool {
  readonly #blocks: Block[] = [];
  readonly #leases = new Map<string, { block: string; granted: number; expiresAt: number }>();
  /** Tokens asked of the region per ms, decaying over one lease lifetime: sizes the next block. */
  #rate = 0;
  #rateAt = 0;
  #nextId = 0;
  /** The global bucket's last word when it had nothing to give: no block is asked for before then. */
  #globalRetryAt = 0;
  #globalRemaining = 0;
  #globalResetMs = 0;
  readonly #options: RegionLeaseOptions;

  constructor(options: RegionLeaseOptions) {
    this.#options = options;
  }

  /** Tokens the region can still re-lease at `now`. */
  available(now: number): number {
    let sum = 0;
    for (const block of this.#blocks) if (now < block.expiresAt) sum += block.available;
    return sum;
  }

  /** Whether a block should be asked for before answering `want` (the region cannot serve it from what it holds). */
  needsBlock(now: number, want: number): boolean {
    return this.available(now) < Math.max(1, want) && now >= this.#globalRetryAt;
  }

  /** Whether a block is worth asking for in the background: less than half a block's worth left. */
  wantsPrefetch(now: number, policy: BucketPolicy): boolean {
    return now >= this.#globalRetryAt && this.available(now) < this.blockWant(policy) / 2;
  }

  /** The size of the next block: what the region's isolates ask for in half a lease lifetime, within bounds. */
  blockWant(policy: BucketPolicy): number {
    const cap = policy.maxLease * this.#options.blockFactor;
    return Math.max(policy.maxLease, Math.min(cap, Math.ceil((this.#rate * policy.leaseTtlMs) / 2)));
  }

  /** The policy the region uses with the global bucket: the same bucket, with blocks as the largest lease. */
  globalPolicy(policy: BucketPolicy): BucketPolicy {
    return { ...policy, maxLease: policy.maxLease * this.#options.blockFactor };
  }

  /**
   * Blocks to hand back to the global bucket with the next request: expired ones (their outstanding isolate
   * leases ended with them; unspent tokens of those are counted as spent) and used-up ones with nothing out.
   */
  takeReturns(now: number): LeaseReturn[] {
    const returns: LeaseReturn[] = [];
    for (let i = this.#blocks.length - 1; i >= 0; i--) {
      const block = this.#blocks[i]!;
      const expired = now >= block.expiresAt;
      if (!expired && (block.available > 0 || block.out > 0)) continue;
      returns.push({ leaseId: block.id, unused: expired ? block.available : 0 });
      this.#blocks.splice(i, 1);
      for (const [id, lease] of this.#leases) if (lease.block === block.id) this.#leases.delete(id);
    }
    return returns;
  }

  /** Takes the global bucket's answer to a block request. */
  addBlock(now: number, answer: AcquireResult): void {
    this.#globalRemaining = answer.remaining;
    this.#globalResetMs = answer.resetMs;
    if (answer.lease) {
      this.#blocks.push({ id: answer.lease.id, granted: answer.lease.granted, expiresAt: answer.lease.expiresAt, available: answer.lease.granted, out: 0 });
      this.#globalRetryAt = 0;
    } else {
      this.#globalRetryAt = now + answer.retryAfterMs;
    }
  }

  /**
   * An isolate's acquire, answered from the blocks held: takes back the unused part of its returned leases,
   * then grants up to `want` (at most `maxLease`) from one block, ending no later than that block.
   */
  acquire(now: number, policy: BucketPolicy, want: number, returned: readonly LeaseReturn[] = []): AcquireResult {
    this.#countDemand(now, want, policy.leaseTtlMs);
    for (const { leaseId, unused } of returned) {
      const lease = this.#leases.get(leaseId);
      if (!lease) continue;
      this.#leases.delete(leaseId);
      const block = this.#blocks.find((b) => b.id === lease.block);
      if (!block) continue;
      block.out -= 1;
      // Unspent tokens go back only while their block lives: after that the global bucket owns them again.
      if (now < block.expiresAt) block.available += Math.max(0, Math.min(unused, lease.granted));
    }
    this.#writeOff(now);
    const ask = Math.max(0, Math.min(Math.floor(want), policy.maxLease));
    // The block that ends last first: the isolate's lease lives longest.
    const block = this.#blocks
      .filter((b) => now < b.expiresAt && b.available >= 1)
      .sort((a, b) => b.expiresAt - a.expiresAt)[0];
    const granted = block ? Math.min(ask, Math.floor(block.available)) : 0;
    let lease: Lease | undefined;
    if (block && granted > 0) {
      block.available -= granted;
      block.out += 1;
      lease = { id: `${block.id}.${(this.#nextId++).toString(36)}`, granted, expiresAt: Math.min(now + policy.leaseTtlMs, block.expiresAt) };
      this.#leases.set(lease.id, { block: block.id, granted, expiresAt: lease.expiresAt });
    }
    const held = this.available(now);
    return {
      lease,
      remaining: Math.floor(held + this.#globalRemaining),
      retryAfterMs: lease ? 0 : Math.max(1, this.#globalRetryAt - now, Math.ceil(1000 / policy.ratePerSecond)),
      resetMs: this.#globalResetMs,
    };
  }

  /** Isolate leases that were neither returned nor renewed: written off as spent after the grace. */
  #writeOff(now: number): void {
    for (const [id, lease] of this.#leases) {
      if (lease.expiresAt + LEASE_GRACE_MS > now) continue;
      this.#leases.delete(id);
      const block = this.#blocks.find((b) => b.id === lease.block);
      if (block) block.out -= 1;
    }
  }

  #countDemand(now: number, want: number, tau: number): void {
    this.#rate = this.#rate * Math.exp(-Math.max(0, now - this.#rateAt) / tau) + Math.max(1, want) / tau;
    this.#rateAt = now;
  }
}
