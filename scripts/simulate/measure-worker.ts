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
    // The tier's object, as isolates call it: sync reports summed (a global sync per interval in the background),
    // leases re-leased from blocks of the global bucket.
    const region = env.SERVICE_REGIONS.getByName('measured@weur');
    const settings = { callTimeoutMs: 1_000, syncIntervalMs: 1_000, blockFactor: 20 };
    const regionSync = await timeCalls(n, (i) => region.sync(report(i % 100, Math.floor(i / 100) + 1, requests, Date.now()), settings));
    let regionPrevious: LeaseReturn[] = [];
    const regionAcquire = await timeCalls(n, async (i) => {
      const answer = await region.acquire('measured', { ...policy, maxLease: 200 }, 100 + (i % 10), regionPrevious, settings);
      regionPrevious = answer.lease ? [{ leaseId: answer.lease.id, unused: 3 }] : [];
    });
    return Response.json({ n, requestsPerReport: requests, reportBytes: JSON.stringify(report(0, 1, requests, Date.now())).length, sync, acquire, version, regionSync, regionAcquire });
  },
};
