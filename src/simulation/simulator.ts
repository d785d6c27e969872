/**
 * @module A discrete-event simulation of the gateway at edge scale. Simulated isolates, spread over locations,
 * run the Worker's real state code on a virtual clock, each with its own IsolateContext: LeasedLimiter for the
 * rate limit, ServiceStateClient (with ServicePool) for breaker sync and the v2 traffic sums, and the
 * configuration poll. Objects run the real ledgers and state machines (state-objects.ts), one call at a time,
 * each call costing the service time measured in workerd. Calls take the network's round trip. Two modes:
 * `direct` (every isolate calls the global objects) and `tier` (isolates call their region's objects, which
 * call the global ones). Services 0 (the busiest, rate limited) and 1 (its origin fails) are simulated request
 * by request; the others' object load is computed from their expected syncs (they are quieter than service 0).
 */
import { ServicePool } from '../balancing/service-pool.ts';
import { parseGatewayConfig } from '../config/load.ts';
import type { ServiceConfig } from '../config/schema.ts';
import { IsolateContext } from '../state/infra/isolate-context.ts';
import { LeasedLimiter, type AcquireLease } from '../state/clients/leased-limiter.ts';
import { exchangeObjectName, regionObjectName, type LocationHint } from '../state/infra/location-hints.ts';
import type { ExchangeTransport, RegionExchangeClient } from '../state/clients/region-exchange.ts';
import type { RegionGlobalCalls } from '../state/machines/region-hub.ts';
import type { RegionExchangeAnswer, RegionExchangeRequest } from '../state/protocol/region-exchange-protocol.ts';
import { RegionFailover } from '../state/machines/region-failover.ts';
import { IDLE_SYNC_MAX_FACTOR } from '../state/clients/service-state-client.ts';
import type { ServiceSnapshot, SyncReport } from '../state/protocol/service-state-protocol.ts';
import type { BucketPolicy } from '../state/machines/token-bucket.ts';
import { REGISTRY_COPY_KEY } from '../control-plane/regional-config.ts';
import { EventQueue } from './event-queue.ts';
import { Network } from './network.ts';
import { exponential, quantile, seededRandom, type Random } from './random.ts';
import type { Mode, ModeResult, Scenario } from './scenario.ts';

export type { ModeResult };
import { SimObject } from './sim-object.ts';
import { SimHub, SimRegionConfig, SimRegistry, SimServiceState, TokenBucketLedger } from './state-objects.ts';

export interface SimulateOptions {
  /** Regions whose tier objects throw on every call (the failover test). */
  unreachableRegions?: LocationHint[];
}

/** Microtask turns run after each event, so the state code's awaits finish at the event's simulated time. */
const MICROTASK_TURNS = 12;
const ORIGIN_LATENCY_MS = 20;
/** Age beyond which an isolate's snapshot is unusable (the breaker policy's default: five sync intervals). */
const SNAPSHOT_MAX_AGE_INTERVALS = 5;

interface IsolateService {
  pool: ServicePool;
  limiter: LeasedLimiter | undefined;
}

class SimIsolate {
  readonly index: number;
  readonly location: number;
  readonly hint: LocationHint;
  readonly context: IsolateContext;
  readonly services = new Map<number, IsolateService>();
  readonly failover: RegionFailover;
  configVersion = 0;
  /** When the configuration this isolate runs on was last confirmed against the registry (directly or via the region). */
  configAt = Number.NEGATIVE_INFINITY;
  nextPollAt = 0;
  polling = false;
  sawOpenAt: number | undefined;
  sawChangeAt: number | undefined;

  /** Tier: the isolate's exchange object, its batched exchange (the Worker's module) and the transport it uses. */
  readonly hubName: string;
  readonly exchange: RegionExchangeClient;
  transport!: ExchangeTransport;
  /**
   * The services simulated in aggregate (index k for service k; 0 and 1 unused), as this isolate's exchange sees
   * them: when each one's adaptive sync is next due, whether it had traffic then (it has something to report), and
   * the chance that it had traffic in a quiet period.
   */
  readonly aggregateDue: Float64Array;
  readonly aggregateActive: Uint8Array;
  readonly aggregateChance: Float64Array;
  aggregateTimerAt = Number.POSITIVE_INFINITY;

  constructor(index: number, location: number, hint: LocationHint, now: () => number, backoffMs: number, shards: number, services: number) {
    this.index = index;
    this.location = location;
    this.hint = hint;
    this.context = new IsolateContext({ isolateId: `isolate-${index}`, now });
    this.failover = new RegionFailover(backoffMs);
    this.hubName = exchangeObjectName(hint, this.context.isolateId, shards);
    this.exchange = this.context.regionExchange(this.hubName, backoffMs);
    this.aggregateDue = new Float64Array(services).fill(Number.POSITIVE_INFINITY);
    this.aggregateActive = new Uint8Array(services);
    this.aggregateChance = new Float64Array(services);
  }
}

class Simulation {
  now = 0;
  readonly scenario: Scenario;
  readonly mode: Mode;
  readonly random: Random;
  readonly network: Network;
  readonly queue = new EventQueue();
  readonly objects = new Map<string, SimObject>();
  readonly serviceStates: SimServiceState[] = [];
  readonly bucket = new TokenBucketLedger();
  readonly registry = new SimRegistry();
  readonly hubs = new Map<string, SimHub>();
  readonly regionConfigs = new Map<LocationHint, SimRegionConfig>();
  readonly isolates: SimIsolate[] = [];
  readonly configs: ServiceConfig[];
  readonly bucketPolicy: BucketPolicy;
  readonly unreachable: Set<LocationHint>;
  /** Cumulative isolate weights, for picking the isolate a request lands on. */
  readonly #cumulative: Float64Array;
  readonly #globalSite: number;
  // Figures.
  doCalls = 0;
  requests = 0;
  fallbacks = 0;
  /** Tier: exchange calls made, the reports they carried, and the regions' calls to global objects. */
  exchanges = 0;
  exchangedReports = 0;
  regionGlobalCalls = 0;
  readonly admittedBins: Int32Array;
  admittedAfterOpen = 0;
  /** Requests of service 0 recorded into the traffic sums (those that reached the origin). */
  recorded0 = 0;
  readonly firstRequestAdded: number[] = [];

  constructor(scenario: Scenario, mode: Mode, options: SimulateOptions) {
    this.scenario = scenario;
    this.mode = mode;
    this.random = seededRandom(scenario.seed);
    this.network = new Network(scenario.locations, this.random);
    this.unreachable = new Set(options.unreachableRegions ?? []);
    this.admittedBins = new Int32Array(Math.ceil(scenario.durationS * 100) + 1);
    const { rateLimit } = scenario;
    const instances = [0, 1, 2].map((i) => ({ url: `https://origin-${i}.example.com` }));
    const config = parseGatewayConfig(
      {
        services: [
          { name: 'svc-0', routes: [{ pathPrefix: '/s0' }], instances, policies: { rateLimit: { ...rateLimit, by: 'service', failOpen: false }, circuitBreaker: {} } },
          { name: 'svc-1', routes: [{ pathPrefix: '/s1' }], instances, policies: { circuitBreaker: {} } },
        ],
      },
      'simulation',
    );
    this.configs = config.services;
    this.bucketPolicy = { ratePerSecond: rateLimit.limit / rateLimit.windowSeconds, capacity: rateLimit.burst, maxLease: rateLimit.maxLease, leaseTtlMs: rateLimit.leaseTtlMs };
    // The global objects live where their first caller was: the hottest location.
    this.#globalSite = 0;
    for (let s = 0; s < 2; s++) {
      this.serviceStates.push(new SimServiceState());
      this.#object(`state:svc-${s}`, this.#globalSite, 'global');
    }
    this.#object('bucket:svc-0', this.#globalSite, 'global');
    this.#object('registry', this.#globalSite, 'global');
    // Tier: the services simulated in aggregate have real global objects here, called by the regions' syncs.
    if (mode === 'tier') for (let k = 2; k < scenario.services; k++) this.#object(`state:svc-${k}`, this.#globalSite, 'global');
    // Isolates: by location weight, each with its own share of the traffic (uneven within a location too).
    const weights: number[] = [];
    const locationWeights = this.network.locations.map((l) => l.weight);
    const total = locationWeights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < scenario.isolates; i++) {
      let pick = this.random() * total;
      let location = 0;
      while (pick > locationWeights[location]! && location < locationWeights.length - 1) pick -= locationWeights[location++]!;
      this.isolates.push(this.#newIsolate(location));
      weights.push(0.5 + this.random());
    }
    this.#cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => (this.#cumulative[i] = sum += w));
    if (mode === 'tier') {
      // Services 2..: rates falling as 1/rank from the busiest (Zipf), each isolate's share as for services 0 and 1.
      const quietS = (scenario.syncIntervalMs * IDLE_SYNC_MAX_FACTOR) / 1000;
      this.isolates.forEach((isolate, i) => {
        const share = weights[i]! / sum;
        for (let k = 2; k < scenario.services; k++) {
          isolate.aggregateChance[k] = 1 - Math.exp(-(scenario.busiestRps / (k + 1)) * share * quietS);
          // Syncs start spread over the first quiet period (isolates and services start at different times).
          isolate.aggregateDue[k] = scenario.warmupS * 1000 * this.random() + quietS * 1000 * this.random();
        }
        this.#scheduleAggregate(isolate);
      });
    }
  }

  #object(name: string, site: number, tier: 'global' | 'region'): SimObject {
    let object = this.objects.get(name);
    if (!object) this.objects.set(name, (object = new SimObject(name, site, tier, this.scenario.durationS)));
    return object;
  }

  #newIsolate(location: number): SimIsolate {
    const hint = this.network.locations[location]!.hint;
    return this.#withTransport(new SimIsolate(this.isolates.length, location, hint, () => this.now, 1_000, this.scenario.shardsPerRegion, this.scenario.services));
  }

  #pickIsolate(): SimIsolate {
    const cumulative = this.#cumulative;
    const target = this.random() * cumulative[cumulative.length - 1]!;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return this.isolates[lo]!;
  }

  /**
   * A call from `from` to the object `name`: it arrives after half the round trip, waits for the calls before it,
   * runs `handler` at the simulated time it is served, and its answer arrives half a round trip after that.
   */
  call<T>(from: number, name: string, serviceMs: number, handler: () => T | Promise<T>): Promise<T> {
    const object = this.objects.get(name)!;
    this.doCalls += 1;
    const oneWay = this.network.rtt(from, object.site) / 2;
    return new Promise<T>((resolve, reject) => {
      this.queue.push(this.now + oneWay, () => {
        if (object.unreachable) {
          this.queue.push(this.now + oneWay, () => reject(new Error(`${name} unreachable`)));
          return;
        }
        const start = Math.max(this.now, object.busyUntil);
        // An overloaded object: a call that would wait longer than the callers' time limit is refused at once
        // (the runtime sheds load with an "overloaded" error; the caller would have timed out anyway).
        if (start - this.now > this.scenario.callTimeoutMs) {
          object.refused += 1;
          this.queue.push(this.now + oneWay, () => reject(new Error(`${name} overloaded`)));
          return;
        }
        object.busyUntil = start + serviceMs;
        object.account(start, serviceMs);
        this.queue.push(start, () => {
          let result: T | Promise<T>;
          try {
            result = handler();
          } catch (error) {
            this.queue.push(start + serviceMs + oneWay, () => reject(error));
            return;
          }
          Promise.resolve(result).then(
            (value) => this.queue.push(Math.max(this.now, start + serviceMs) + oneWay, () => resolve(value)),
            (error) => this.queue.push(Math.max(this.now, start + serviceMs) + oneWay, () => reject(error)),
          );
        });
      });
    });
  }

  // ---- the tier's objects -------------------------------------------------------------------------------------

  #hub(name: string, hint: LocationHint): SimHub {
    let hub = this.hubs.get(name);
    if (!hub) {
      this.hubs.set(name, (hub = new SimHub(name, this.scenario.services)));
      this.#object(name, this.network.regionSite.get(hint)!, 'region').unreachable = this.unreachable.has(hint);
    }
    return hub;
  }

  /** How a region's hub reaches the global objects: simulated calls from the region's site. */
  #globalCalls(site: number): RegionGlobalCalls {
    const { syncMs, acquireMs } = this.scenario.serviceTimes;
    return {
      sync: (service, report) => {
        this.regionGlobalCalls += 1;
        const index = Number(service.slice('svc-'.length));
        return this.call(site, `state:${service}`, syncMs, () => this.serviceStates[index]!.sync(report, this.now));
      },
      leaseBlock: (_key, policy, want, returned) => {
        this.regionGlobalCalls += 1;
        return this.call(site, 'bucket:svc-0', acquireMs, () => this.bucket.acquire(this.now, policy, want, returned));
      },
    };
  }

  /**
   * The region's side for the services simulated in aggregate: a report marks the service as pending, and a
   * pending one is synced with its global object when IDLE_SYNC_MAX_FACTOR intervals have passed since the last
   * (RegionHub's rule for a service with no failure), checked when a report arrives, as RegionHub does.
   */
  #aggregateAtRegion(hub: SimHub, riders: number[], site: number): void {
    const quiet = this.scenario.syncIntervalMs * IDLE_SYNC_MAX_FACTOR;
    for (const k of riders) {
      hub.pending[k] = 1;
      if (this.now - hub.lastGlobalSyncAt[k]! < quiet) continue;
      hub.pending[k] = 0;
      hub.lastGlobalSyncAt[k] = this.now;
      this.regionGlobalCalls += 1;
      this.call(site, `state:svc-${k}`, this.scenario.serviceTimes.syncMs, () => undefined).catch(() => undefined);
    }
  }

  /** The isolate's calls for its exchange: to its hub (with the aggregate services' due reports riding along), or direct. */
  #withTransport(isolate: SimIsolate): SimIsolate {
    const { syncMs, acquireMs, exchangeBaseMs, exchangePerReportMs, exchangePerLeaseMs } = this.scenario.serviceTimes;
    const site = this.network.regionSite.get(isolate.hint)!;
    const noteOpen = (service: string | undefined, snapshot: ServiceSnapshot) => {
      if (service === 'svc-1' && snapshot.breaker.state === 'open') isolate.sawOpenAt ??= this.now;
    };
    isolate.transport = {
      exchange: (request: RegionExchangeRequest): Promise<RegionExchangeAnswer> => {
        const riders = this.#aggregateRiders(isolate);
        const reports = request.reports.length + riders.length;
        this.exchanges += 1;
        this.exchangedReports += reports;
        const hub = this.#hub(isolate.hubName, isolate.hint);
        const serviceMs = exchangeBaseMs + reports * exchangePerReportMs + request.leases.length * exchangePerLeaseMs;
        return this.call(isolate.location, isolate.hubName, serviceMs, () => {
          this.#aggregateAtRegion(hub, riders, site);
          return hub.hub.exchange(request, { callTimeoutMs: this.scenario.callTimeoutMs, syncIntervalMs: this.scenario.syncIntervalMs, blockFactor: this.scenario.blockFactor }, () => this.now, this.#globalCalls(site));
        }).then(
          (answer) => {
            answer.snapshots.forEach((part, i) => 'breaker' in part && noteOpen(request.reports[i]!.serviceName, part));
            return answer;
          },
          (error: Error) => {
            // The region failed: the aggregate services' reports go to their global objects directly too.
            if (!error.message.endsWith('overloaded')) for (const k of riders) this.call(isolate.location, `state:svc-${k}`, syncMs, () => undefined).catch(() => undefined);
            throw error;
          },
        );
      },
      directSync: (service, report) => {
        const index = Number(service.slice('svc-'.length));
        return this.call(isolate.location, `state:${service}`, syncMs, () => this.serviceStates[index]!.sync(report, this.now)).then((snapshot) => (noteOpen(service, snapshot), snapshot));
      },
      directAcquire: (ask) => this.call(isolate.location, 'bucket:svc-0', acquireMs, () => this.bucket.acquire(this.now, ask.policy, ask.want, ask.returned)),
    };
    return isolate;
  }

  /**
   * The aggregate services whose reports ride an exchange sent now: those with traffic whose sync is due before
   * the next period (the exchange client's rule for the simulated services); each one's next sync is then due
   * IDLE_SYNC_MAX_FACTOR intervals later (adaptive sync of a service without failures).
   */
  #aggregateRiders(isolate: SimIsolate): number[] {
    const riders: number[] = [];
    const { syncIntervalMs } = this.scenario;
    const horizon = this.now + syncIntervalMs;
    for (let k = 2; k < this.scenario.services; k++) {
      if (!isolate.aggregateActive[k] && isolate.aggregateDue[k]! > horizon) continue;
      if (isolate.aggregateActive[k] || this.random() < isolate.aggregateChance[k]!) riders.push(k);
      isolate.aggregateActive[k] = 0;
      isolate.aggregateDue[k] = this.now + syncIntervalMs * IDLE_SYNC_MAX_FACTOR;
    }
    this.#scheduleAggregate(isolate);
    return riders;
  }

  #scheduleAggregate(isolate: SimIsolate): void {
    let next = Number.POSITIVE_INFINITY;
    for (let k = 2; k < this.scenario.services; k++) next = Math.min(next, isolate.aggregateDue[k]!);
    if (next >= isolate.aggregateTimerAt && isolate.aggregateTimerAt > this.now) return;
    isolate.aggregateTimerAt = next;
    // At least 1 ms ahead, so that a service left due cannot make the clock stand still.
    if (Number.isFinite(next)) this.queue.push(Math.max(next, this.now + 1), () => this.#aggregateTick(isolate, next));
  }

  /**
   * An aggregate service's sync falls due: if it had traffic, the isolate exchanges now (the exchange client's
   * `exchangeDue`, carrying the simulated services due before the next period, or a call with only the aggregate
   * services' reports when none is); without traffic it is looked at again a quiet period later.
   */
  #aggregateTick(isolate: SimIsolate, at: number): void {
    if (at !== isolate.aggregateTimerAt) return;
    isolate.aggregateTimerAt = Number.POSITIVE_INFINITY;
    const quiet = this.scenario.syncIntervalMs * IDLE_SYNC_MAX_FACTOR;
    let active = false;
    for (let k = 2; k < this.scenario.services; k++) {
      if (isolate.aggregateDue[k]! > this.now || isolate.aggregateActive[k]) continue;
      if (this.random() < isolate.aggregateChance[k]!) {
        isolate.aggregateActive[k] = 1;
        active = true;
      } else {
        isolate.aggregateDue[k] = this.now + quiet;
      }
    }
    if (!active) return this.#scheduleAggregate(isolate);
    if (!isolate.exchange.usesRegion(this.now)) {
      // Direct after the region failed: each service's report to its own global object.
      for (let k = 2; k < this.scenario.services; k++) {
        if (!isolate.aggregateActive[k]) continue;
        isolate.aggregateActive[k] = 0;
        isolate.aggregateDue[k] = this.now + quiet;
        this.call(isolate.location, `state:svc-${k}`, this.scenario.serviceTimes.syncMs, () => undefined).catch(() => undefined);
      }
      return this.#scheduleAggregate(isolate);
    }
    const started = isolate.exchange.exchangeDue(this.now, this.scenario.syncIntervalMs, isolate.transport);
    if (!started) isolate.transport.exchange({ isolateId: isolate.context.isolateId, reports: [], leases: [] }).catch(() => undefined);
  }

  /** The region's copy of the registry (`registry@<hint>`): checked when older than the poll interval. */
  #refreshRegionConfig(copy: SimRegionConfig, site: number): Promise<void> {
    copy.polling = true;
    const { versionMs, syncMs } = this.scenario.serviceTimes;
    return this.call(site, 'registry', versionMs, () => this.registry.version)
      .then((version) => (version === copy.version ? version : this.call(site, 'registry', syncMs, () => this.registry.version)))
      .then((version) => {
        copy.version = version;
        copy.checkedAt = this.now;
      })
      .finally(() => (copy.polling = false));
  }

  #regionConfig(hint: LocationHint): Promise<{ version: number; checkedAt: number }> {
    const name = regionObjectName(REGISTRY_COPY_KEY, hint);
    let copy = this.regionConfigs.get(hint);
    if (!copy) {
      this.regionConfigs.set(hint, (copy = new SimRegionConfig()));
      this.#object(name, this.network.regionSite.get(hint)!, 'region').unreachable = this.unreachable.has(hint);
    }
    const site = this.network.regionSite.get(hint)!;
    const regionCopy = copy;
    return this.call(site, name, this.scenario.serviceTimes.versionMs, () => {
      const answer = () => ({ version: regionCopy.version, checkedAt: regionCopy.checkedAt });
      // Past the staleness bound the copy is refreshed before it is answered; else in the background when due.
      if (this.now - regionCopy.checkedAt > this.scenario.configMaxStaleMs) return this.#refreshRegionConfig(regionCopy, site).then(answer);
      if (!regionCopy.polling && this.now - regionCopy.checkedAt >= this.scenario.regionPollIntervalMs) this.#refreshRegionConfig(regionCopy, site).catch(() => undefined);
      return answer();
    });
  }

  // ---- an isolate's calls -------------------------------------------------------------------------------------

  /** Tries the region's object, else (it failed, or failed a moment ago) the global one directly. */
  #viaRegion<T>(isolate: SimIsolate, regional: () => Promise<T>, direct: () => Promise<T>): Promise<T> {
    if (this.mode === 'direct' || !isolate.failover.useRegion(this.now)) return direct();
    return regional().catch((error: Error) => {
      // An overloaded object is not bypassed: the global one would take the load instead (src/state/clients/tier.ts does the same).
      if (error.message.endsWith('overloaded')) throw error;
      isolate.failover.failed(this.now);
      this.fallbacks += 1;
      return direct();
    });
  }

  /** Direct mode: a service's sync with its global object. */
  #sender(isolate: SimIsolate, service: number): (report: SyncReport) => Promise<ServiceSnapshot> {
    return (report) =>
      this.call(isolate.location, `state:svc-${service}`, this.scenario.serviceTimes.syncMs, () => this.serviceStates[service]!.sync(report, this.now)).then((snapshot) => {
        if (service === 1 && snapshot.breaker.state === 'open') isolate.sawOpenAt ??= this.now;
        return snapshot;
      });
  }

  /** A lease: from the global bucket (direct), or riding the isolate's exchange with its region (tier). */
  #acquirer(isolate: SimIsolate): AcquireLease {
    if (this.mode === 'tier') {
      return (want, returned) => isolate.exchange.acquire({ bucketKey: 'svc-0', policy: this.bucketPolicy, want, returned }, this.scenario.syncIntervalMs, isolate.transport);
    }
    return (want, returned) => this.call(isolate.location, 'bucket:svc-0', this.scenario.serviceTimes.acquireMs, () => this.bucket.acquire(this.now, this.bucketPolicy, want, returned));
  }

  /** Brings the isolate's configuration up to date: the registry (direct) or the region's copy (tier). */
  async #refreshConfig(isolate: SimIsolate, first: boolean): Promise<void> {
    const { versionMs, syncMs } = this.scenario.serviceTimes;
    const direct = async () => {
      // As config-source.ts: a first load reads the snapshot; a poll asks the version, then the snapshot if it moved.
      let version = first ? await this.call(isolate.location, 'registry', syncMs, () => this.registry.version) : await this.call(isolate.location, 'registry', versionMs, () => this.registry.version);
      if (!first && version !== isolate.configVersion) version = await this.call(isolate.location, 'registry', syncMs, () => this.registry.version);
      return { version, checkedAt: this.now };
    };
    const answer = await this.#viaRegion(isolate, () => this.#regionConfig(isolate.hint), direct);
    if (answer.version >= isolate.configVersion) {
      isolate.configVersion = answer.version;
      isolate.configAt = Math.max(isolate.configAt, answer.checkedAt);
    }
    if (isolate.configVersion >= 2) isolate.sawChangeAt ??= this.now;
  }

  #service(isolate: SimIsolate, service: number): IsolateService {
    let state = isolate.services.get(service);
    if (!state) {
      const config = this.configs[service]!;
      const policy = config.policies.rateLimit;
      state = {
        pool: new ServicePool(config, isolate.context),
        limiter: policy ? new LeasedLimiter({ ...policy, unreachableBackoffMs: 1_000 }, this.random) : undefined,
      };
      isolate.services.set(service, state);
      if (this.mode === 'tier') isolate.exchange.track(state.pool);
    }
    return state;
  }

  /** One request, through the gateway's decisions in the Worker's order: configuration, breaker, rate limit, origin, sync. */
  async request(isolate: SimIsolate, service: number, fresh: boolean): Promise<void> {
    const arrival = this.now;
    const { scenario } = this;
    this.requests += 1;
    const stale = this.mode === 'tier' && this.now - isolate.configAt > scenario.configMaxStaleMs;
    if (isolate.configVersion === 0 || stale) {
      await this.#refreshConfig(isolate, isolate.configVersion === 0).catch(() => undefined);
    } else if (this.now >= isolate.nextPollAt && !isolate.polling) {
      isolate.nextPollAt = this.now + scenario.pollIntervalMs;
      isolate.polling = true;
      this.#refreshConfig(isolate, false)
        .catch(() => undefined)
        .finally(() => (isolate.polling = false));
    }
    // The first poll at a random phase of the interval: real isolates start at different times, while the
    // simulation's ramp starts every isolate within its first second, which would put every poll in the same second.
    if (isolate.nextPollAt === 0) isolate.nextPollAt = this.now + scenario.pollIntervalMs * this.random();
    const state = this.#service(isolate, service);
    const { pool } = state;
    const send = this.#sender(isolate, service);
    const tier = this.mode === 'tier';
    if (!pool.state.snapshot || this.now - pool.state.snapshotReceivedAt > SNAPSHOT_MAX_AGE_INTERVALS * scenario.syncIntervalMs) {
      await (tier ? isolate.exchange.syncNow(pool, scenario.syncIntervalMs, isolate.transport) : pool.state.syncNow(pool, send));
    }
    if (fresh) this.firstRequestAdded.push(this.now - arrival);
    if (pool.state.breaker(this.now).state === 'open') return;
    if (state.limiter) {
      const admission = await state.limiter.admit(() => this.now, this.#acquirer(isolate)).catch(() => undefined);
      if (!admission?.allowed) return;
    }
    const failing = service === 1 && this.now >= scenario.failAtS * 1000;
    if (service === 0) this.recorded0 += 1;
    if (service === 0) this.admittedBins[Math.min(this.admittedBins.length - 1, Math.floor(this.now / 10))]! += 1;
    const openedAt = this.serviceStates[1]!.openedAt;
    if (service === 1 && openedAt !== undefined && this.now >= openedAt) this.admittedAfterOpen += 1;
    const instance = pool.instances[Math.floor(this.random() * pool.instances.length)]!;
    pool.recordOutcome(instance, failing, ORIGIN_LATENCY_MS);
    pool.state.recordRequest({ method: 'GET', status: failing ? 502 : 200, outcome: failing ? 'upstream-error' : 'ok', latencyMs: ORIGIN_LATENCY_MS, upstreamMs: ORIGIN_LATENCY_MS, bytesIn: 0, bytesOut: 1_000 }, this.now);
    if (tier) isolate.exchange.syncIfDue(this.now, scenario.syncIntervalMs, isolate.transport)?.catch(() => undefined);
    else pool.state.syncIfDue(this.now, pool, scenario.syncIntervalMs, send);
  }

  // ---- the run ------------------------------------------------------------------------------------------------

  async run(): Promise<ModeResult> {
    const { scenario } = this;
    const end = scenario.durationS * 1000;
    const rates = [scenario.busiestRps, scenario.failingRps];
    const rampEnd = scenario.warmupS * 1000;
    const nextArrival = rates.map((rate) => exponential(this.random, 1000 / rate));
    this.queue.push(scenario.registryChangeAtS * 1000, () => (this.registry.version += 1));
    // Fresh isolates in locations taken uniformly (not by traffic): their first request, to the breaker-only service
    // before its origin fails, is timed from arrival to the gateway's decision (configuration, breaker state).
    for (let k = 0; k < scenario.freshIsolates; k++) {
      this.queue.push((scenario.freshFromS + k * scenario.freshEveryS) * 1000, () => {
        const location = Math.floor(this.random() * this.network.locations.length);
        const isolate = this.#withTransport(new SimIsolate(1_000_000 + k, location, this.network.locations[location]!.hint, () => this.now, 1_000, scenario.shardsPerRegion, scenario.services));
        void this.request(isolate, 1, true);
      });
    }
    for (;;) {
      const service = nextArrival[0]! <= nextArrival[1]! ? 0 : 1;
      const arrivalAt = nextArrival[service]!;
      const eventAt = this.queue.peekTime();
      if (Math.min(arrivalAt, eventAt) >= end) break;
      if (eventAt <= arrivalAt) {
        const event = this.queue.pop()!;
        this.now = event.at;
        event.run();
      } else {
        this.now = arrivalAt;
        nextArrival[service] = arrivalAt + exponential(this.random, 1000 / rates[service]!);
        // Traffic ramps up over the warm-up, so isolates start over seconds rather than all at the first instant.
        if (arrivalAt >= rampEnd || this.random() * rampEnd < arrivalAt) void this.request(this.#pickIsolate(), service, false);
      }
      for (let turn = 0; turn < MICROTASK_TURNS; turn++) await undefined;
    }
    return this.#figures();
  }

  #figures(): ModeResult {
    const { scenario } = this;
    const from = scenario.warmupS;
    const to = scenario.durationS;
    let busiest = { name: '', rpsP99: 0, rpsPeak: 0, busyP99: 0 };
    // The ≤ 500 requests/s target holds for every object: the busiest by time can be a slow global object with few
    // calls while a region object with cheap calls takes many more.
    let mostCalled = { name: '', rpsP99: 0 };
    const consider = (name: string, rps: number[], busy: number[]) => {
      const rpsP99 = quantile(rps, 0.99);
      const busyP99 = quantile(busy, 0.99);
      if (rpsP99 > mostCalled.rpsP99) mostCalled = { name, rpsP99 };
      if (busyP99 > busiest.busyP99 || (busyP99 === busiest.busyP99 && rpsP99 > busiest.rpsP99)) busiest = { name, rpsP99, rpsPeak: Math.max(...rps), busyP99 };
    };
    for (const object of this.objects.values()) {
      consider(object.name, [...object.callsPerSecond.slice(from, to)], [...object.busyMsPerSecond.slice(from, to)].map((ms) => ms / 1000));
    }
    // The other services, in aggregate: each isolate (direct) or region (tier) with traffic in an interval syncs once.
    const aggregate = this.#aggregateServices();
    // Offered load, capped at a full second: above it the object cannot keep up (and refuses what queues too long).
    for (const { name, rps, serviceMs } of aggregate.objects) consider(name, [rps], [Math.min(1, (rps * serviceMs) / 1000)]);

    const { rateLimit } = scenario;
    const windowBins = rateLimit.windowSeconds * 100;
    let worst = 0;
    let inWindow = 0;
    for (let i = 0; i < this.admittedBins.length; i++) {
      inWindow += this.admittedBins[i]!;
      if (i >= windowBins) inWindow -= this.admittedBins[i - windowBins]!;
      worst = Math.max(worst, inWindow);
    }
    // Utilisation over the second half of the run: by then the bucket's initial burst is spent at this demand.
    const steadyFrom = Math.max(from, Math.floor(to / 2));
    let steady = 0;
    for (let i = steadyFrom * 100; i < to * 100; i++) steady += this.admittedBins[i]!;
    const allowedRate = rateLimit.limit / rateLimit.windowSeconds;
    const openedAt = this.serviceStates[1]!.openedAt;
    const normal = this.isolates.filter((isolate) => isolate.services.has(1));
    const seenOpen = normal.map((isolate) => (openedAt === undefined || isolate.sawOpenAt === undefined ? Number.POSITIVE_INFINITY : isolate.sawOpenAt - openedAt));
    const changeAt = scenario.registryChangeAtS * 1000;
    const seenChange = this.isolates.map((isolate) => (isolate.sawChangeAt === undefined ? Number.POSITIVE_INFINITY : isolate.sawChangeAt - changeAt));
    const round = (x: number, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
    return {
      isolates: scenario.isolates,
      locations: scenario.locations,
      services: scenario.services,
      busiest_object: busiest.name,
      busiest_object_rps_peak: round(busiest.rpsPeak, 1),
      busiest_object_rps_p99: round(busiest.rpsP99, 1),
      busiest_object_busy_p99: round(busiest.busyP99),
      most_called_object: mostCalled.name,
      most_called_object_rps_p99: round(mostCalled.rpsP99, 1),
      max_window_admitted_over_allowed: round(worst / (rateLimit.limit + rateLimit.burst), 4),
      utilisation: round(steady / (allowedRate * (to - steadyFrom)), 4),
      admitted_after_breaker_open_s: openedAt === undefined ? Number.NaN : round(this.admittedAfterOpen / scenario.failingRps),
      breaker_open_seen_p99_s: round(quantile(seenOpen, 0.99) / 1000),
      registry_change_p99_s: round(quantile(seenChange, 0.99) / 1000),
      first_request_added_ms: round(quantile(this.firstRequestAdded, 0.99), 1),
      do_calls_per_request: round((this.doCalls + aggregate.callsPerSecond * (to - 0)) / (this.requests + aggregate.requestsPerSecond * to), 4),
      traffic_counted_ratio: round(this.serviceStates[0]!.countedRequests / Math.max(1, this.recorded0), 4),
      region_fallbacks: this.fallbacks + this.isolates.reduce((sum, isolate) => sum + isolate.exchange.fallbacks, 0),
      region_to_global_calls_per_s: round(this.regionGlobalCalls / to, 1),
      reports_per_exchange: round(this.exchangedReports / Math.max(1, this.exchanges), 1),
    };
  }

  /**
   * Services 2.. (rates falling as 1/rank from the busiest, Zipf). Direct mode: expected syncs per second on each
   * global object, from the chance that an isolate has traffic for the service in a quiet sync period. Tier mode:
   * their reports ride the isolates' exchanges, simulated call by call (#aggregateRiders); only their requests count here.
   */
  #aggregateServices(): { objects: { name: string; rps: number; serviceMs: number }[]; callsPerSecond: number; requestsPerSecond: number } {
    const { scenario } = this;
    const totalWeight = this.#cumulative[this.#cumulative.length - 1]!;
    const shares = this.isolates.map((_, i) => (this.#cumulative[i]! - (i > 0 ? this.#cumulative[i - 1]! : 0)) / totalWeight);
    const objects: { name: string; rps: number; serviceMs: number }[] = [];
    // Adaptive sync (service-state-client.ts): with no failure to report, an isolate syncs every
    // IDLE_SYNC_MAX_FACTOR intervals at most, if it had a request in that time.
    const quiet = (scenario.syncIntervalMs / 1000) * IDLE_SYNC_MAX_FACTOR;
    let calls = 0;
    let requests = 0;
    for (let k = 2; k < scenario.services; k++) {
      const rate = scenario.busiestRps / (k + 1);
      requests += rate;
      if (this.mode !== 'direct') continue;
      let direct = 0;
      for (const share of shares) direct += (1 - Math.exp(-rate * share * quiet)) / quiet;
      objects.push({ name: `state:svc-${k}`, rps: direct, serviceMs: scenario.serviceTimes.syncMs });
      calls += direct;
    }
    return { objects, callsPerSecond: calls, requestsPerSecond: requests };
  }
}

/** Runs `scenario` in `mode` and answers its figures. Deterministic for a seed. */
export async function simulate(scenario: Scenario, mode: Mode, options: SimulateOptions = {}): Promise<ModeResult> {
  return new Simulation(scenario, mode, options).run();
}
