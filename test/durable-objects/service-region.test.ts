import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ServiceRegion } from '../../durable-objects/service-region.ts';
import { addSample, emptySums, minuteOf } from '../../src/observability/traffic-sums.ts';
import type { SyncReport } from '../../src/state/protocol/service-state-protocol.ts';
import type { BucketPolicy, LeaseReturn } from '../../src/state/machines/token-bucket.ts';

const settings = { callTimeoutMs: 1_000, syncIntervalMs: 1_000, blockFactor: 4 };
/** A region that reports to the global object with every isolate call (in the background), so tests need not wait. */
const eager = { ...settings, syncIntervalMs: 0 };

/** Polls `read` until `done` holds (bounded), and returns the last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 100 && !done(value); attempt++) value = await read();
  return value;
}
const policy: BucketPolicy = { ratePerSecond: 1, capacity: 1_000, maxLease: 50, leaseTtlMs: 10_000 };

function report(isolateId: string, seq: number, requests: number, failures = 0): SyncReport {
  const sums = emptySums();
  for (let i = 0; i < requests; i++) addSample(sums, { method: 'GET', status: 200, outcome: 'ok', latencyMs: 10, upstreamMs: 8, bytesIn: 0, bytesOut: 100 });
  return {
    isolateId,
    policy: {
      breaker: { failureRateThreshold: 0.5, slidingWindowSeconds: 10, minimumCalls: 5, consecutiveFailures: 0, openMs: 30_000, halfOpenProbes: 1 },
      ejection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
      instances: ['a'],
    },
    service: { calls: requests + failures, failures, trailingFailures: failures, hadSuccess: requests > 0 },
    instances: { a: { calls: requests + failures, failures, trailingFailures: failures, hadSuccess: requests > 0, inFlight: 0, latencySumMs: 10 * requests } },
    version: 2,
    serviceName: 'orders',
    traffic: [{ seq, minutes: { [String(minuteOf(Date.now()))]: sums } }],
  };
}

describe('ServiceRegion: leases', () => {
  it('re-leases tokens from one block of the global bucket, which counts the whole block as on lease', async () => {
    const region = env.SERVICE_REGIONS.getByName('orders@weur');
    const bucket = env.RATE_LIMITS.getByName('orders');
    let granted = 0;
    let isolateLeases = 0;
    // Isolates asking 10 tokens at a time; a region asks the global bucket at most every 50 ms, so some calls
    // are refused while it waits: poll (bounded) until 100 tokens were granted.
    for (let attempt = 0; attempt < 500 && granted < 100; attempt++) {
      const answer = await region.acquire('orders', policy, 10, [], settings);
      if (!answer.lease) continue;
      granted += answer.lease.granted;
      isolateLeases += 1;
    }
    expect(granted).toBeGreaterThanOrEqual(100);
    const global = await bucket.inspect(policy);
    // Fewer blocks at the global bucket than leases to isolates, and every token re-leased is on lease there.
    expect(global.leases).toBeLessThan(isolateLeases);
    expect(global.onLease).toBeGreaterThanOrEqual(granted);
    expect(global.onLease + global.tokens).toBeLessThanOrEqual(policy.capacity);
  });

  it('never grants more than the global bucket holds, across regions (limit + burst kept at both levels)', async () => {
    const small: BucketPolicy = { ratePerSecond: 0.001, capacity: 120, maxLease: 20, leaseTtlMs: 10_000 };
    let granted = 0;
    for (const hint of ['weur', 'enam', 'apac']) {
      const region = env.SERVICE_REGIONS.getByName(`tight@${hint}`);
      for (let i = 0; i < 20; i++) granted += (await region.acquire('tight', small, 20, [], settings)).lease?.granted ?? 0;
    }
    expect(granted).toBeLessThanOrEqual(small.capacity);
    expect(granted).toBeGreaterThan(0);
    const global = await env.RATE_LIMITS.getByName('tight').inspect(small);
    expect(global.onLease + global.tokens).toBeLessThanOrEqual(small.capacity);
  });

  it('takes back the unused tokens of a returned lease and grants them again', async () => {
    const region = env.SERVICE_REGIONS.getByName('returns@weur');
    const first = (await region.acquire('returns', policy, 50, [], settings)).lease!;
    const before = await runInDurableObject(region, (instance: ServiceRegion) => instance.inspect('returns'));
    expect(before.onLease).toBe(50);
    const again = await region.acquire('returns', policy, 50, [{ leaseId: first.id, unused: 50 }], settings);
    expect(again.lease!.granted).toBe(50);
    const after = await runInDurableObject(region, (instance: ServiceRegion) => instance.inspect('returns'));
    // The 50 handed back are available again: the region's tokens did not shrink by the second grant.
    expect(after.available).toBe(before.available);
    expect(after.onLease).toBe(50);
  });
});

describe('ServiceRegion: reports', () => {
  it("sums its isolates' reports into the global object, each traffic batch counted once", async () => {
    const region = env.SERVICE_REGIONS.getByName('sums@weur');
    const first = await region.sync(report('isolate-1', 1, 30), eager);
    expect(first.trafficAckedSeq).toBe(1);
    // The same batch again (an answer lost on the way back) and a second isolate's batch.
    expect((await region.sync(report('isolate-1', 1, 30), eager)).trafficAckedSeq).toBe(1);
    await region.sync(report('isolate-2', 1, 12), eager);
    const global = env.SERVICE_STATE.getByName('sums');
    const total = async () => {
      await region.sync(report('isolate-3', 1, 0), eager);
      return Object.values((await global.trafficSeries(5)).totals.requests).reduce((a, b) => a + b, 0);
    };
    expect(await until(total, (n) => n >= 42)).toBe(42);
    // The global object sees one reporter, the region, not its isolates.
    const status = await global.status(report('x', 0, 0).policy);
    expect(status.reportingIsolates).toBe(1);
  });

  it("carries failures up, so the global breaker opens and the region's isolates learn it", async () => {
    const region = env.SERVICE_REGIONS.getByName('failing@weur');
    await region.sync(report('isolate-1', 1, 0, 10), eager);
    await region.sync(report('isolate-2', 1, 0, 10), eager);
    const state = await until(
      async () => (await region.sync(report('isolate-3', 1, 0), eager)).breaker.state,
      (s) => s === 'open',
    );
    expect(state).toBe('open');
  });
});

describe('ServiceRegion: the registry copy', () => {
  it('answers its copy at once while fresh, and reads the registry again past the staleness bound', async () => {
    const copy = env.SERVICE_REGIONS.getByName('_registry@weur');
    const first = await copy.config(30_000, 60_000, 1_000);
    const version = await env.REGISTRY.getByName('registry').version();
    expect(first.version).toBe(version);
    // Within the bound and the poll interval: the copy, no registry call (checkedAt unchanged).
    expect((await copy.config(30_000, 60_000, 1_000)).checkedAt).toBe(first.checkedAt);
    // Past the bound (1 ms here): read again before answering.
    const later = await until(
      () => copy.config(1, 60_000, 1_000),
      (answer) => answer.checkedAt > first.checkedAt,
    );
    expect(later.checkedAt).toBeGreaterThan(first.checkedAt);
    expect(later.version).toBe(version);
  });
});
