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

/** After a block request that brought less than half of what it asked, the next waits this long. */
export const STARVED_RETRY_MS = 100;

/** A region asks the global bucket for a block at most once per this interval. */
export const MIN_ASK_INTERVAL_MS = 50;
/** An isolate refused by its region comes back after this long at the soonest. */
export const REFUSAL_RETRY_MS = 2_000;
/** Largest share of the bucket's capacity one block may take. */
export const BLOCK_CAPACITY_SHARE = 1 / 8;

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
  #lastAskAt = Number.NEGATIVE_INFINITY;
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

  /** Tokens out on isolate leases still live at `now`. */
  onLease(now: number): number {
    let sum = 0;
    for (const lease of this.#leases.values()) if (now < lease.expiresAt) sum += lease.granted;
    return sum;
  }

  /**
   * Whether the global bucket may be asked for a block at `now`: not while it said to wait or starved us, and
   * not within MIN_ASK_INTERVAL_MS of the last request (above the limit every region would otherwise ask for the
   * few tokens each millisecond of refill brings, and the global object's load would grow with demand).
   */
  canAsk(now: number): boolean {
    return now >= this.#nextAskAt();
  }

  #nextAskAt(): number {
    return Math.max(this.#globalRetryAt, this.#lastAskAt + MIN_ASK_INTERVAL_MS);
  }

  /** A block request is being sent at `now`. */
  asking(now: number): void {
    this.#lastAskAt = now;
  }

  /** Whether a block is worth asking for in the background: less than half a block's worth left. */
  wantsPrefetch(now: number, policy: BucketPolicy): boolean {
    return now >= this.#globalRetryAt && this.available(now) < this.blockWant(policy) / 2;
  }

  /**
   * The size of the next block: what the region's isolates ask for in half a lease lifetime, at most
   * `blockFactor` × `maxLease` and at most BLOCK_CAPACITY_SHARE of the bucket's capacity, so that a few regions
   * cannot hold the whole capacity on lease while others starve.
   */
  blockWant(policy: BucketPolicy): number {
    const cap = Math.max(policy.maxLease, Math.min(policy.maxLease * this.#options.blockFactor, Math.floor(policy.capacity * BLOCK_CAPACITY_SHARE)));
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
      // An expired block with isolate leases out waits (within half the global bucket's grace, while the bucket
      // still has it on its books) for their unspent tokens to come back, so they go back to the bucket too.
      if (expired && block.out > 0 && now < block.expiresAt + LEASE_GRACE_MS / 2) continue;
      returns.push({ leaseId: block.id, unused: expired ? block.available : 0 });
      this.#blocks.splice(i, 1);
      for (const [id, lease] of this.#leases) if (lease.block === block.id) this.#leases.delete(id);
    }
    return returns;
  }

  /**
   * Takes the global bucket's answer to a request for `asked` tokens. When the bucket is nearly empty (demand
   * above the limit) the region waits STARVED_RETRY_MS before asking again rather than ask for a few tokens per
   * call: the tokens wait in the global bucket meanwhile, so nothing is lost, and the global object's load stays
   * bounded by regions × 1 / STARVED_RETRY_MS.
   */
  addBlock(now: number, answer: AcquireResult, asked: number): void {
    this.#globalRemaining = answer.remaining;
    this.#globalResetMs = answer.resetMs;
    const granted = answer.lease?.granted ?? 0;
    if (answer.lease) {
      this.#blocks.push({ id: answer.lease.id, granted, expiresAt: answer.lease.expiresAt, available: granted, out: 0 });
    }
    // Refused: ask again when the bucket said, but within STARVED_RETRY_MS × 4 whatever it said: blocks other
    // regions are done with come back with their next request, before the bucket's own estimate.
    if (!answer.lease) this.#globalRetryAt = now + Math.min(STARVED_RETRY_MS * 4, Math.max(answer.retryAfterMs, STARVED_RETRY_MS));
    else this.#globalRetryAt = granted < asked / 2 ? now + STARVED_RETRY_MS : 0;
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
      // After the block expired they are not re-leased (only live blocks are), only handed back to the bucket.
      block.available += Math.max(0, Math.min(unused, lease.granted));
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
      // Nothing here: tokens come with the next block, asked for at #nextAskAt at the earliest; and above the limit
      // (the usual reason for a refusal) isolates that come back sooner only add calls: REFUSAL_RETRY_MS at least.
      retryAfterMs: lease ? 0 : Math.max(REFUSAL_RETRY_MS, Math.ceil(this.#nextAskAt() - now)),
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

/** Asks the global bucket for a block: `policy` is the region's (larger leases), `returned` the blocks it is done with. */
export type LeaseBlock = (policy: BucketPolicy, want: number, returned: LeaseReturn[]) => Promise<AcquireResult>;

/**
 * The region object's rate-limit logic around its pool: answers an isolate from the blocks held, asks the global
 * bucket for a block when they are empty (one request at a time, shared by the isolates waiting for it: inside a
 * Durable Object all requests share one I/O context), and asks ahead in the background when running low.
 */
export class RegionLimiter {
  readonly pool: RegionLeasePool;
  #refilling: Promise<void> | undefined;

  constructor(options: RegionLeaseOptions) {
    this.pool = new RegionLeasePool(options);
  }

  /** An isolate's acquire. Throws what `leaseBlock` throws when the region had nothing and could not get a block. */
  async acquire(now: () => number, policy: BucketPolicy, want: number, returned: readonly LeaseReturn[], leaseBlock: LeaseBlock): Promise<AcquireResult> {
    const result = this.pool.acquire(now(), policy, want, returned);
    if (result.lease) {
      if (!this.#refilling && this.pool.canAsk(now()) && this.pool.wantsPrefetch(now(), policy)) this.#refill(now, policy, leaseBlock).catch(() => undefined);
      return result;
    }
    if (!this.#refilling && !this.pool.canAsk(now())) return result;
    await this.#refill(now, policy, leaseBlock);
    return this.pool.acquire(now(), policy, want, []);
  }

  #refill(now: () => number, policy: BucketPolicy, leaseBlock: LeaseBlock): Promise<void> {
    this.#refilling ??= (async () => {
      try {
        const want = this.pool.blockWant(policy);
        this.pool.asking(now());
        const answer = await leaseBlock(this.pool.globalPolicy(policy), want, this.pool.takeReturns(now()));
        this.pool.addBlock(now(), answer, want);
      } finally {
        this.#refilling = undefined;
      }
    })();
    return this.#refilling;
  }
}
