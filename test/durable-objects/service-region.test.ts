import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { ServiceRegion } from '../../durable-objects/service-region.ts';
import { addSample, emptySums, minuteOf } from '../../src/observability/traffic-sums.ts';
import type { SyncReport } from '../../src/state/protocol/service-state-protocol.ts';
import { isPartFailed, type LeaseAsk, type RegionExchangeAnswer } from '../../src/state/protocol/region-exchange-protocol.ts';
import type { AcquireResult, BucketPolicy } from '../../src/state/machines/token-bucket.ts';

const settings = { callTimeoutMs: 1_000, syncIntervalMs: 1_000, blockFactor: 4 };
/** A region that reports each service to its global object with every isolate call (in the background), so tests need not wait. */
const eager = { ...settings, syncIntervalMs: 0 };

/** Polls `read` until `done` holds (bounded), and returns the last value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 100 && !done(value); attempt++) value = await read();
  return value;
}
const policy: BucketPolicy = { ratePerSecond: 1, capacity: 1_000, maxLease: 50, leaseTtlMs: 10_000 };

function report(serviceName: string, isolateId: string, seq: number, requests: number, failures = 0): SyncReport {
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
    serviceName,
    traffic: requests > 0 ? [{ seq, minutes: { [String(minuteOf(Date.now()))]: sums } }] : [],
  };
}

function lease(answer: RegionExchangeAnswer, i = 0): AcquireResult {
  const part = answer.leases[i]!;
  if (isPartFailed(part)) throw new Error('lease part failed');
  return part;
}

async function requestsCounted(service: string): Promise<number> {
  return Object.values((await env.SERVICE_STATE.getByName(service).trafficSeries(5)).totals.requests).reduce((a, b) => a + b, 0);
}

describe('ServiceRegion: one exchange carries several services', () => {
  it("answers a snapshot per service and counts each service's reports once at its own global object", async () => {
    const region = env.SERVICE_REGIONS.getByName('_all@weur#0');
    const reports = [report('sums-a', 'isolate-1', 1, 30), report('sums-b', 'isolate-1', 1, 12), report('sums-c', 'isolate-1', 1, 5)];
    const first = await region.exchange({ isolateId: 'isolate-1', reports, leases: [] }, eager);
    expect(first.snapshots).toHaveLength(3);
    for (const part of first.snapshots) {
      expect(isPartFailed(part)).toBe(false);
      expect(part).toMatchObject({ breaker: { state: 'closed' }, trafficAckedSeq: 1 });
    }
    // The same call again (an answer lost on the way back), and a second isolate's report of one service.
    await region.exchange({ isolateId: 'isolate-1', reports, leases: [] }, eager);
    await region.exchange({ isolateId: 'isolate-2', reports: [report('sums-a', 'isolate-2', 1, 7)], leases: [] }, eager);
    const expected: Record<string, number> = { 'sums-a': 37, 'sums-b': 12, 'sums-c': 5 };
    const counted = await until(
      async () => {
        // Empty reports from a third isolate keep the region syncing each service (eager: at every call).
        await region.exchange({ isolateId: 'isolate-3', reports: Object.keys(expected).map((s) => report(s, 'isolate-3', 1, 0)), leases: [] }, eager);
        return Object.fromEntries(await Promise.all(Object.keys(expected).map(async (s) => [s, await requestsCounted(s)] as const)));
      },
      (now) => Object.keys(expected).every((s) => now[s] === expected[s]),
    );
    expect(counted).toEqual(expected);
    // Each global object sees one reporter, the region, not its isolates.
    for (const service of Object.keys(expected)) expect((await env.SERVICE_STATE.getByName(service).status(report(service, 'x', 0, 0).policy)).reportingIsolates).toBe(1);
  });

  it('grants leases of two buckets in the same call, re-leased from blocks the global buckets count as on lease', async () => {
    const region = env.SERVICE_REGIONS.getByName('_all@weur#1');
    const granted: Record<string, number> = { 'lease-a': 0, 'lease-b': 0 };
    let isolateLeases = 0;
    // A region asks a global bucket at most every 50 ms, so some asks are refused while it waits: poll (bounded).
    for (let attempt = 0; attempt < 500 && (granted['lease-a']! < 100 || granted['lease-b']! < 100); attempt++) {
      const leases: LeaseAsk[] = Object.keys(granted).map((bucketKey) => ({ bucketKey, policy, want: 10, returned: [] }));
      const answer = await region.exchange({ isolateId: 'isolate-1', reports: [report('leasing', 'isolate-1', attempt + 1, 1)], leases }, settings);
      expect(answer.snapshots).toHaveLength(1);
      Object.keys(granted).forEach((key, i) => {
        const got = lease(answer, i).lease?.granted ?? 0;
        granted[key]! += got;
        if (got > 0) isolateLeases += 1;
      });
    }
    for (const [key, n] of Object.entries(granted)) {
      expect(n, key).toBeGreaterThanOrEqual(100);
      const global = await env.RATE_LIMITS.getByName(key).inspect(policy);
      // Every token re-leased is on lease at the global bucket, and never more than its capacity.
      expect(global.onLease, key).toBeGreaterThanOrEqual(n);
      expect(global.onLease + global.tokens, key).toBeLessThanOrEqual(policy.capacity);
      expect(global.leases, key).toBeLessThan(isolateLeases / 2);
    }
  });

  it('never grants more than the global bucket holds, across regions and shards (limit + burst kept at both levels)', async () => {
    const small: BucketPolicy = { ratePerSecond: 0.001, capacity: 120, maxLease: 20, leaseTtlMs: 10_000 };
    let granted = 0;
    for (const name of ['_all@weur#2', '_all@weur#3', '_all@enam#0', '_all@apac#0']) {
      const region = env.SERVICE_REGIONS.getByName(name);
      for (let i = 0; i < 20; i++) {
        const answer = await region.exchange({ isolateId: `isolate-${i}`, reports: [], leases: [{ bucketKey: 'tight', policy: small, want: 20, returned: [] }] }, settings);
        granted += lease(answer).lease?.granted ?? 0;
      }
    }
    expect(granted).toBeLessThanOrEqual(small.capacity);
    expect(granted).toBeGreaterThan(0);
    const global = await env.RATE_LIMITS.getByName('tight').inspect(small);
    expect(global.onLease + global.tokens).toBeLessThanOrEqual(small.capacity);
  });

  it('takes back the unused tokens of a returned lease and grants them again', async () => {
    const region = env.SERVICE_REGIONS.getByName('_all@oc#0');
    const ask = (returned: LeaseAsk['returned']) => region.exchange({ isolateId: 'isolate-1', reports: [], leases: [{ bucketKey: 'returns', policy, want: 50, returned }] }, settings);
    const first = lease(await ask([])).lease!;
    const before = await runInDurableObject(region, (instance: ServiceRegion) => instance.inspect('returns'));
    expect(before.onLease).toBe(50);
    const again = lease(await ask([{ leaseId: first.id, unused: 50 }]));
    expect(again.lease!.granted).toBe(50);
    const after = await runInDurableObject(region, (instance: ServiceRegion) => instance.inspect('returns'));
    // The 50 handed back are available again: the region's tokens did not shrink by the second grant.
    expect(after.available).toBe(before.available);
    expect(after.onLease).toBe(50);
  });

  it("carries failures up, so the global breaker opens and the region's isolates learn it", async () => {
    const region = env.SERVICE_REGIONS.getByName('_all@me#0');
    const call = (isolateId: string, failures: number) =>
      region.exchange({ isolateId, reports: [report('failing', isolateId, 1, 0, failures), report('healthy', isolateId, 1, 3)], leases: [] }, eager);
    await call('isolate-1', 10);
    await call('isolate-2', 10);
    const answer = await until(
      () => call('isolate-3', 0),
      (a) => (a.snapshots[0] as { breaker: { state: string } }).breaker.state === 'open',
    );
    expect(answer.snapshots[0]).toMatchObject({ breaker: { state: 'open' } });
    // The other service in the same call is unaffected.
    expect(answer.snapshots[1]).toMatchObject({ breaker: { state: 'closed' } });
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
