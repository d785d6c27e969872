/**
 * @module The Worker the simulator's measurement step runs in workerd (scripts/simulate/measure-objects.ts): it
 * calls the real Durable Objects N times in a row with reports of the real size and answers the time per call.
 * The time covers the object's method, its SQLite writes and the local RPC hop; no network.
 */
import { RateLimitBucket } from '../../durable-objects/rate-limit-bucket.ts';
import { ServiceRegion } from '../../durable-objects/service-region.ts';
import { ServiceRegistry } from '../../durable-objects/service-registry.ts';
import { ServiceState } from '../../durable-objects/service-state.ts';
import { addSample, emptySums, minuteOf } from '../../src/observability/traffic-sums.ts';
import type { SyncReport } from '../../src/state/protocol/service-state-protocol.ts';
import type { BucketPolicy, LeaseReturn } from '../../src/state/machines/token-bucket.ts';

export { RateLimitBucket, ServiceRegion, ServiceRegistry, ServiceState };

interface MeasureEnv {
  SERVICE_STATE: DurableObjectNamespace<ServiceState>;
  RATE_LIMITS: DurableObjectNamespace<RateLimitBucket>;
  REGISTRY: DurableObjectNamespace<ServiceRegistry>;
  SERVICE_REGIONS: DurableObjectNamespace<ServiceRegion>;
}

const INSTANCES = ['i0', 'i1', 'i2'];

/** One isolate's report after `requests` requests in one sync interval, built with the real recording functions. */
function report(isolate: number, seq: number, requests: number, now: number): SyncReport {
  const sums = emptySums();
  for (let i = 0; i < requests; i++) {
    const status = i % 50 === 0 ? 503 : i % 7 === 0 ? 404 : 200;
    addSample(sums, { method: i % 5 === 0 ? 'POST' : 'GET', status, outcome: status >= 500 ? 'upstream-error' : 'ok', latencyMs: 5 + (i % 90), upstreamMs: 3 + (i % 80), bytesIn: 200, bytesOut: 1_500 });
  }
  const perInstance = Math.floor(requests / INSTANCES.length);
  return {
    isolateId: `isolate-${isolate}`,
    policy: {
      breaker: { failureRateThreshold: 0.5, slidingWindowSeconds: 10, minimumCalls: 20, consecutiveFailures: 0, openMs: 30_000, halfOpenProbes: 3 },
      ejection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
      instances: INSTANCES,
    },
    service: { calls: requests, failures: Math.floor(requests / 50), trailingFailures: 0, hadSuccess: true },
    instances: Object.fromEntries(INSTANCES.map((id) => [id, { calls: perInstance, failures: 0, trailingFailures: 0, hadSuccess: true, inFlight: 2, latencySumMs: perInstance * 40 }])),
    version: 2,
    serviceName: 'measured',
    traffic: [{ seq, minutes: { [String(minuteOf(now))]: sums } }],
  };
}

/** Rounds of calls timed together: the runtime's clock has ms resolution, so single calls cannot be timed. */
const ROUNDS = 10;

/** Mean ms per call in each of ROUNDS rounds of n / ROUNDS calls in a row. */
async function timeCalls(n: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const means: number[] = [];
  const perRound = Math.max(1, Math.floor(n / ROUNDS));
  for (let round = 0, i = 0; round < ROUNDS; round++) {
    const start = Date.now();
    for (let k = 0; k < perRound; k++) await call(i++);
    means.push((Date.now() - start) / perRound);
  }
  return means;
}

export default {
  async fetch(request: Request, env: MeasureEnv): Promise<Response> {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? '200');
    const requests = Number(url.searchParams.get('requests') ?? '50');
    const state = env.SERVICE_STATE.getByName('measured');
    const bucket = env.RATE_LIMITS.getByName('measured');
    const registry = env.REGISTRY.getByName('registry');
    const policy: BucketPolicy = { ratePerSecond: 1e9, capacity: 1e9, maxLease: 1_000, leaseTtlMs: 2_000 };
    let previous: LeaseReturn[] = [];
    // Many isolates reporting in turn, as the object sees them; the first calls warm the object up and are dropped.
    const sync = await timeCalls(n, (i) => state.sync(report(i % 100, Math.floor(i / 100) + 1, requests, Date.now())));
    const acquire = await timeCalls(n, async (i) => {
      const answer = await bucket.acquire(policy, 100 + (i % 10), previous);
      previous = answer.lease ? [{ leaseId: answer.lease.id, unused: 3 }] : [];
    });
    const version = await timeCalls(n, () => registry.version());
    // The tier's object, as isolates call it: one exchange per isolate and period, with 1 and with 100 services'
    // reports (sums added, each service's global sync in the background as due), and with a lease ask only.
    const settings = { callTimeoutMs: 1_000, syncIntervalMs: 1_000, blockFactor: 20 };
    const template = report(0, 1, requests, Date.now());
    // Reports built before timing (the caller's work is not the object's): a new batch number per call, so each is counted.
    const reportsOf = (i: number, services: number): SyncReport[] =>
      Array.from({ length: services }, (_, k) => ({ ...template, isolateId: `isolate-${i % 100}`, serviceName: `svc-${k}`, traffic: [{ seq: Math.floor(i / 100) + 1, minutes: template.traffic![0]!.minutes }] }));
    const one = env.SERVICE_REGIONS.getByName('_all@weur#0');
    const exchangeOne = await timeCalls(n, (i) => one.exchange({ isolateId: `isolate-${i % 100}`, reports: reportsOf(i, 1), leases: [] }, settings));
    const hundred = env.SERVICE_REGIONS.getByName('_all@weur#1');
    const batches = Array.from({ length: Math.max(ROUNDS, Math.floor(n / 4)) }, (_, i) => reportsOf(i, 100));
    const exchangeHundred = await timeCalls(batches.length, (i) => hundred.exchange({ isolateId: `isolate-${i % 100}`, reports: batches[i]!, leases: [] }, settings));
    const leasing = env.SERVICE_REGIONS.getByName('_all@weur#2');
    let regionPrevious: LeaseReturn[] = [];
    const exchangeLease = await timeCalls(n, async (i) => {
      const ask = { bucketKey: 'measured-lease', policy: { ...policy, maxLease: 200 }, want: 100 + (i % 10), returned: regionPrevious };
      const answer = await leasing.exchange({ isolateId: `isolate-${i % 100}`, reports: [], leases: [ask] }, settings);
      const lease = answer.leases[0];
      regionPrevious = lease && 'lease' in lease && lease.lease ? [{ leaseId: lease.lease.id, unused: 3 }] : [];
    });
    return Response.json({ n, requestsPerReport: requests, reportBytes: JSON.stringify(report(0, 1, requests, Date.now())).length, sync, acquire, version, exchangeOne, exchangeHundred, exchangeLease, hundredReportBytes: JSON.stringify(batches[0]).length });
  },
};
