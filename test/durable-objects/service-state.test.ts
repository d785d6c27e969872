import { evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { InstanceReport, ServiceStatePolicy, SyncReport } from '../../src/state/protocol/service-state-protocol.ts';

const policy: ServiceStatePolicy = {
  breaker: { failureRateThreshold: 0.5, slidingWindowSeconds: 10, minimumCalls: 10, consecutiveFailures: 0, openMs: 30_000, halfOpenProbes: 1 },
  ejection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
  instances: ['a', 'b'],
};

function instance(calls: number, failures: number, inFlight = 0): InstanceReport {
  return { calls, failures, trailingFailures: failures, hadSuccess: failures < calls, inFlight, latencySumMs: calls * 10 };
}

function report(isolateId: string, a: InstanceReport, b: InstanceReport): SyncReport {
  const calls = a.calls + b.calls;
  const failures = a.failures + b.failures;
  return {
    isolateId,
    policy,
    service: { calls, failures, trailingFailures: failures, hadSuccess: failures < calls },
    instances: { a, b },
  };
}

describe('ServiceState', () => {
  it('sums in-flight counts over the isolates that report', async () => {
    const stub = env.SERVICE_STATE.getByName('test-inflight');
    await stub.sync(report('isolate-1', instance(1, 0, 3), instance(1, 0, 1)));
    const snapshot = await stub.sync(report('isolate-2', instance(1, 0, 2), instance(0, 0, 0)));
    expect(snapshot.inFlight).toEqual({ a: 5, b: 1 });
  });

  it('opens the breaker on failures reported by several isolates, and records the event', async () => {
    const stub = env.SERVICE_STATE.getByName('test-breaker');
    await stub.sync(report('isolate-1', instance(3, 3), instance(2, 0)));
    const snapshot = await stub.sync(report('isolate-2', instance(3, 3), instance(2, 0)));
    expect(snapshot.breaker.state).toBe('open');
    const status = await stub.status(policy);
    expect(status.events.find((event) => event.kind === 'breaker-opened')).toMatchObject({ detail: 'failure rate 60% over 10 calls in 10 s' });
    // Instance a failed 6 times in a row on the second isolate's count: it is ejected in the same sync.
    expect(status.events.find((event) => event.kind === 'instance-ejected')).toMatchObject({ instance: 'a' });
  });

  it('ejects an instance after consecutive failures and reports it to every isolate', async () => {
    const stub = env.SERVICE_STATE.getByName('test-ejection');
    const snapshot = await stub.sync({ ...report('isolate-1', instance(5, 5), instance(20, 0)), policy: { ...policy, breaker: undefined } });
    expect(Object.keys(snapshot.ejected)).toEqual(['a']);
    const other = await stub.sync({ ...report('isolate-2', instance(0, 0), instance(1, 0)), policy: { ...policy, breaker: undefined } });
    expect(Object.keys(other.ejected)).toEqual(['a']);
  });

  it('keeps an open breaker, ejections and events through an eviction', async () => {
    const stub = env.SERVICE_STATE.getByName('test-eviction');
    await stub.sync(report('isolate-1', instance(10, 10), instance(0, 0)));
    const before = await stub.status(policy);
    expect(before.breaker?.state).toBe('open');

    await evictDurableObject(stub);

    const after = await stub.status(policy);
    expect(after.breaker).toMatchObject({ state: 'open', openUntil: before.breaker!.openUntil, openCount: 1 });
    expect(after.instances.find((i) => i.id === 'a')!.ejectedUntil).toBe(before.instances.find((i) => i.id === 'a')!.ejectedUntil);
    expect(after.events).toEqual(before.events);
  });

  it('closes the breaker and returns ejected instances on reset', async () => {
    const stub = env.SERVICE_STATE.getByName('test-reset');
    await stub.sync(report('isolate-1', instance(10, 10), instance(0, 0)));
    const status = await stub.reset(policy, 'alice');
    expect(status.breaker?.state).toBe('closed');
    expect(status.instances.every((i) => i.ejectedUntil === null)).toBe(true);
    expect(status.events.slice(0, 2).map((e) => e.detail)).toEqual(['reset by alice', 'reset by alice']);
  });

  it('grants one probe when half-open and closes on its success', async () => {
    const stub = env.SERVICE_STATE.getByName('test-probe');
    const quick = { ...policy, breaker: { ...policy.breaker!, openMs: 0 } };
    await stub.sync({ ...report('isolate-1', instance(10, 10), instance(0, 0)), policy: quick });
    expect((await stub.tryProbe(quick)).granted).toBe(true);
    expect((await stub.tryProbe(quick)).granted).toBe(false);
    const snapshot = await stub.reportProbe(quick, true);
    expect(snapshot.breaker.state).toBe('closed');
  });
});

// Issue 9: every sync rewrote the state row, even when an isolate only reported in-flight counts.
describe('ServiceState storage writes', () => {
  it('writes its row only when breaker or ejection state changed', async () => {
    const stub = env.SERVICE_STATE.getByName('test-quiet-writes');
    const changes = () => runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>('SELECT total_changes() AS n').one().n);
    await stub.sync(report('isolate-1', instance(2, 0), instance(2, 0)));
    const afterOutcomes = await changes();
    // Only in-flight counts, no outcomes: nothing that is stored has changed.
    await stub.sync(report('isolate-1', instance(0, 0, 4), instance(0, 0, 1)));
    await stub.sync(report('isolate-2', instance(0, 0, 1), instance(0, 0, 0)));
    expect(await changes()).toBe(afterOutcomes);
    // An outcome changes the breaker's window: written.
    await stub.sync(report('isolate-1', instance(1, 1), instance(0, 0)));
    expect(await changes()).toBeGreaterThan(afterOutcomes);
  });
});
