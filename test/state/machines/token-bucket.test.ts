import { describe, expect, it } from 'vitest';
import { LEASE_GRACE_MS, TokenBucketLedger, type BucketPolicy } from '../../../src/state/machines/token-bucket.ts';

const policy: BucketPolicy = { ratePerSecond: 10, capacity: 20, maxLease: 5, leaseTtlMs: 2_000 };

/** Takes `count` leases at `now` and returns each at once, fully spent. */
function spend(ledger: TokenBucketLedger, now: number, count: number): number {
  let granted = 0;
  for (let i = 0; i < count; i++) {
    const lease = ledger.acquire(now, policy, 5).lease;
    if (!lease) break;
    granted += lease.granted;
    ledger.acquire(now, policy, 0, [{ leaseId: lease.id, unused: 0 }]);
  }
  return granted;
}

describe('TokenBucketLedger', () => {
  it('starts full: an idle client can take the whole burst', () => {
    expect(spend(new TokenBucketLedger(), 0, 10)).toBe(20);
  });

  it('never grants more than maxLease at once', () => {
    expect(new TokenBucketLedger().acquire(0, policy, 100).lease?.granted).toBe(5);
  });

  it('refills at the configured rate once the burst is spent', () => {
    const ledger = new TokenBucketLedger();
    spend(ledger, 0, 4);
    expect(ledger.acquire(0, policy, 5).lease).toBeUndefined();
    expect(ledger.acquire(300, policy, 5).lease?.granted).toBe(3);
  });

  it('counts unreturned leases against the capacity, so tokens on lease and in the bucket never exceed the burst', () => {
    const ledger = new TokenBucketLedger();
    ledger.acquire(0, policy, 5);
    ledger.acquire(0, policy, 5);
    // Long after, but before the leases expire: the bucket refilled only the 10 tokens not on lease.
    expect(ledger.acquire(1_999, policy, 0).remaining).toBe(10);
  });

  it('takes back the unused part of a returned lease', () => {
    const ledger = new TokenBucketLedger();
    const lease = ledger.acquire(0, policy, 5).lease!;
    expect(ledger.acquire(0, policy, 0, [{ leaseId: lease.id, unused: 3 }]).remaining).toBe(18);
  });

  it('ignores a return for a lease it no longer has (written off or returned twice)', () => {
    const ledger = new TokenBucketLedger();
    const lease = ledger.acquire(0, policy, 5).lease!;
    ledger.acquire(0, policy, 0, [{ leaseId: lease.id, unused: 5 }]);
    spend(ledger, 0, 3);
    expect(ledger.acquire(0, policy, 0, [{ leaseId: lease.id, unused: 5 }]).remaining).toBe(5);
  });

  it('writes an unreturned lease off as spent once its grace period is over, then refills', () => {
    const ledger = new TokenBucketLedger();
    for (let i = 0; i < 4; i++) ledger.acquire(0, policy, 5);
    const writeOff = policy.leaseTtlMs + LEASE_GRACE_MS;
    expect(ledger.acquire(writeOff - 1, policy, 0).remaining).toBe(0);
    expect(ledger.acquire(writeOff, policy, 0).remaining).toBe(0);
    expect(ledger.acquire(writeOff + 1_000, policy, 0).remaining).toBe(10);
  });

  it('says how long until a token when the bucket is empty', () => {
    const ledger = new TokenBucketLedger();
    spend(ledger, 0, 4);
    const refused = ledger.acquire(50, policy, 1);
    expect(refused.lease).toBeUndefined();
    expect(refused.retryAfterMs).toBe(50); // 0.5 token refilled at 10/s; the next whole one in 50 ms
  });

  it('says how long until a lease comes back when all the capacity is on lease', () => {
    const ledger = new TokenBucketLedger();
    for (let i = 0; i < 4; i++) ledger.acquire(0, policy, 5);
    expect(ledger.acquire(0, policy, 1).retryAfterMs).toBe(policy.leaseTtlMs + LEASE_GRACE_MS);
  });
});
