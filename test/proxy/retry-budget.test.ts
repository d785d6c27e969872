import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/proxy/retry-budget.ts';

describe('RetryBudget', () => {
  it('allows the minimum retries per second even with no traffic', () => {
    const budget = new RetryBudget(0.2, 1);
    const granted = Array.from({ length: 15 }, () => budget.tryAcquire(0)).filter(Boolean).length;
    expect(granted).toBe(10); // 1 per second over the 10 s window
  });

  it('limits retries to the ratio of requests over the window', () => {
    const budget = new RetryBudget(0.2, 0);
    for (let i = 0; i < 100; i++) budget.recordRequest(500);
    const granted = Array.from({ length: 50 }, () => budget.tryAcquire(500)).filter(Boolean).length;
    expect(granted).toBe(20);
  });

  it('refills as the window slides past old retries', () => {
    const budget = new RetryBudget(0, 1);
    while (budget.tryAcquire(0));
    expect(budget.tryAcquire(9_999)).toBe(false);
    expect(budget.tryAcquire(10_000)).toBe(true);
  });
});
