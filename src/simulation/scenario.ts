/** @module What a simulation run models (the default is the target scenario) and what it reports (docs/scale.md). */

export type Mode = 'direct' | 'tier';

/** Ms each kind of call keeps an object busy: measured in workerd by scripts/simulate/measure-objects.ts. */
export interface ServiceTimes {
  /** Global objects: ServiceState.sync, RateLimitBucket.acquire, ServiceRegistry.version. */
  syncMs: number;
  acquireMs: number;
  versionMs: number;
  /**
   * The tier's ServiceRegion.exchange: a call with r reports and l lease asks keeps the object busy
   * base + r × perReport + l × perLease ms (fitted from calls with 1 and 100 reports, and with a lease).
   */
  exchangeBaseMs: number;
  exchangePerReportMs: number;
  exchangePerLeaseMs: number;
}

export interface Scenario {
  seed: number;
  isolates: number;
  locations: number;
  /** Services in all; the first two are simulated request by request, the rest in aggregate. */
  services: number;
  /** Requests per second on the busiest service (service 0, rate limited). */
  busiestRps: number;
  /** Requests per second on the service whose origin fails (service 1, with a breaker). */
  failingRps: number;
  /** Simulated seconds, and the first seconds left out of the load figures (every isolate starts cold). */
  durationS: number;
  warmupS: number;
  /** When service 1's origin starts failing every request. */
  failAtS: number;
  /** When the registry's version changes. */
  registryChangeAtS: number;
  /** Fresh isolates started during the run, one every `freshEveryS` from `freshFromS`: their first request is timed. */
  freshIsolates: number;
  freshFromS: number;
  freshEveryS: number;
  /** Service 0's rate limit, as in the configuration (`policies.rateLimit`). */
  rateLimit: { limit: number; windowSeconds: number; burst: number; maxLease: number; leaseTtlMs: number };
  /** `gateway.statePlane.syncIntervalMs` and `gateway.controlPlane.pollIntervalMs`. */
  syncIntervalMs: number;
  pollIntervalMs: number;
  /** `gateway.statePlane.callTimeoutMs`: an object refuses calls that would queue longer. */
  callTimeoutMs: number;
  /** Tier: how often a region's registry copy is checked against the registry, and the staleness bound. */
  regionPollIntervalMs: number;
  configMaxStaleMs: number;
  /** Tier: blocks of up to this many times `maxLease` are leased from the global bucket. */
  blockFactor: number;
  /** Tier: exchange objects per region (`tier.shardsPerRegion`). */
  shardsPerRegion: number;
  serviceTimes: ServiceTimes;
}

/** The target: 1,000 isolates in 50 locations, 100 services, 50,000 requests/s on the busiest. */
export function targetScenario(serviceTimes: ServiceTimes): Scenario {
  return {
    seed: 13,
    isolates: 1_000,
    locations: 50,
    services: 100,
    busiestRps: 50_000,
    failingRps: 5_000,
    durationS: 40,
    warmupS: 5,
    failAtS: 15,
    registryChangeAtS: 20,
    freshIsolates: 20,
    freshFromS: 6,
    freshEveryS: 0.4,
    // 30,000 requests/s over a 10 s window, burst = limit (the schema's default): demand (50,000/s) exceeds it.
    rateLimit: { limit: 300_000, windowSeconds: 10, burst: 300_000, maxLease: 1_000, leaseTtlMs: 10_000 },
    syncIntervalMs: 1_000,
    pollIntervalMs: 5_000,
    callTimeoutMs: 1_000,
    regionPollIntervalMs: 2_000,
    configMaxStaleMs: 30_000,
    blockFactor: 20,
    shardsPerRegion: 4,
    serviceTimes,
  };
}

/** A small run for the tests: same shape, few isolates, a few seconds. */
export function smallScenario(overrides: Partial<Scenario> = {}): Scenario {
  return {
    ...targetScenario({ syncMs: 1, acquireMs: 1, versionMs: 0.1, exchangeBaseMs: 0.1, exchangePerReportMs: 0.01, exchangePerLeaseMs: 0.05 }),
    isolates: 40,
    locations: 8,
    services: 4,
    busiestRps: 2_000,
    failingRps: 400,
    durationS: 12,
    warmupS: 2,
    failAtS: 4,
    registryChangeAtS: 5,
    freshIsolates: 3,
    freshFromS: 3,
    rateLimit: { limit: 1_000, windowSeconds: 1, burst: 500, maxLease: 50, leaseTtlMs: 2_000 },
    shardsPerRegion: 2,
    ...overrides,
  };
}

/** The figures of one run, named as in the issue (docs/scale.md). */
export interface ModeResult {
  isolates: number;
  locations: number;
  services: number;
  busiest_object: string;
  busiest_object_rps_peak: number;
  busiest_object_rps_p99: number;
  busiest_object_busy_p99: number;
  /** The object with the most requests/s (p99 over time), whichever is busiest by time. */
  most_called_object: string;
  most_called_object_rps_p99: number;
  max_window_admitted_over_allowed: number;
  utilisation: number;
  admitted_after_breaker_open_s: number;
  breaker_open_seen_p99_s: number;
  registry_change_p99_s: number;
  first_request_added_ms: number;
  do_calls_per_request: number;
  /** Requests counted by service 0's global object through the traffic sums ÷ requests it handled. */
  traffic_counted_ratio: number;
  /** Calls that fell back to the global object because a region object failed. */
  region_fallbacks: number;
  /** Tier: calls from the region objects to the global ones (service syncs and block leases) per second. */
  region_to_global_calls_per_s: number;
  /** Tier: service reports carried per exchange call, on average. */
  reports_per_exchange: number;
}

