import { describe, expect, it } from 'vitest';
import { CircuitBreakerMachine, newBreakerData, STUCK_PROBE_MS, type BreakerPolicy } from '../../../src/state/machines/breaker-machine.ts';

const policy: BreakerPolicy = {
  failureRateThreshold: 0.5,
  slidingWindowSeconds: 10,
  minimumCalls: 10,
  consecutiveFailures: 0,
  openMs: 30_000,
  halfOpenProbes: 2,
};

const failures = (n: number) => ({ calls: n, failures: n, trailingFailures: n, hadSuccess: false });
const successes = (n: number) => ({ calls: n, failures: 0, trailingFailures: 0, hadSuccess: n > 0 });
const mixed = (calls: number, failed: number) => ({ calls, failures: failed, trailingFailures: 0, hadSuccess: true });

describe('CircuitBreakerMachine on a controlled clock', () => {
  it('stays closed below the minimum number of calls, whatever the failure rate', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(1_000, policy, failures(9));
    expect(breaker.view(1_000, policy).state).toBe('closed');
  });

  it('opens when the failure rate over the window reaches the threshold', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(1_000, policy, mixed(6, 2));
    const events = breaker.record(2_000, policy, mixed(6, 4));
    expect(events).toEqual([{ at: 2_000, from: 'closed', to: 'open', reason: 'failure rate 50% over 12 calls in 10 s' }]);
    expect(breaker.view(2_000, policy)).toMatchObject({ state: 'open', openUntil: 32_000, openCount: 1 });
  });

  it('forgets failures that slid out of the window', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(1_000, policy, failures(8));
    breaker.record(12_000, policy, successes(4));
    breaker.record(12_500, policy, mixed(4, 1));
    expect(breaker.view(12_500, policy)).toMatchObject({ state: 'closed', calls: 8, failures: 1 });
  });

  it('opens on consecutive failures when configured, across batches', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    const strict = { ...policy, consecutiveFailures: 5, minimumCalls: 1_000 };
    breaker.record(1_000, strict, { calls: 5, failures: 3, trailingFailures: 3, hadSuccess: true });
    expect(breaker.view(1_000, strict).state).toBe('closed');
    breaker.record(1_100, strict, failures(2));
    expect(breaker.view(1_100, strict).state).toBe('open');
  });

  it('refuses probes while open, admits a limited number once half-open, and closes when they succeed', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(0, policy, failures(10));
    expect(breaker.tryProbe(29_999, policy).granted).toBe(false);
    const first = breaker.tryProbe(30_000, policy);
    expect(first.granted).toBe(true);
    expect(first.events.map((e) => e.to)).toEqual(['half-open']);
    expect(breaker.tryProbe(30_001, policy).granted).toBe(true);
    expect(breaker.tryProbe(30_002, policy).granted).toBe(false);
    breaker.recordProbe(30_100, policy, true);
    const closing = breaker.recordProbe(30_200, policy, true);
    expect(closing.map((e) => e.to)).toEqual(['closed']);
    expect(breaker.view(30_200, policy)).toMatchObject({ state: 'closed', calls: 0 });
  });

  it('reopens on a failed probe, for another full wait', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(0, policy, failures(10));
    breaker.tryProbe(30_000, policy);
    const events = breaker.recordProbe(30_050, policy, false);
    expect(events).toEqual([{ at: 30_050, from: 'half-open', to: 'open', reason: 'a probe failed' }]);
    expect(breaker.view(30_050, policy)).toMatchObject({ state: 'open', openUntil: 60_050, openCount: 2 });
  });

  it('ignores ordinary outcomes while open or half-open', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(0, policy, failures(10));
    breaker.record(1_000, policy, successes(100));
    expect(breaker.view(1_000, policy).state).toBe('open');
  });

  it('gives probes out again when the granted ones never report', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(0, policy, failures(10));
    breaker.tryProbe(30_000, policy);
    breaker.tryProbe(30_000, policy);
    expect(breaker.tryProbe(30_000 + STUCK_PROBE_MS - 1, policy).granted).toBe(false);
    expect(breaker.tryProbe(30_000 + STUCK_PROBE_MS, policy).granted).toBe(true);
  });

  it('closes on reset', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(0, policy, failures(10));
    expect(breaker.reset(5_000, 'reset by an operator').map((e) => e.to)).toEqual(['closed']);
    expect(breaker.view(5_000, policy).state).toBe('closed');
  });

  it('survives a round trip through JSON (as it is stored)', () => {
    const breaker = new CircuitBreakerMachine(newBreakerData(0));
    breaker.record(1_000, policy, mixed(12, 3));
    const restored = new CircuitBreakerMachine(JSON.parse(JSON.stringify(breaker.data)));
    restored.record(1_500, policy, failures(6)); // 9 of 18 calls failed
    expect(restored.view(1_500, policy)).toMatchObject({ state: 'open' });
  });
});
