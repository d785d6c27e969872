import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ServicePool } from '../../../src/balancing/service-pool.ts';
import { parseGatewayConfig } from '../../../src/config/load.ts';
import type { Env } from '../../../src/env.ts';
import { IsolateContext, defaultIsolateContext } from '../../../src/state/infra/isolate-context.ts';
import { exchangeObjectName, locationHintOf } from '../../../src/state/infra/location-hints.ts';
import { syncServiceStateNow } from '../../../src/state/clients/sync-service-state.ts';
import { exchangeTransport, noteIsolatePlace, regionExchange, regionTarget } from '../../../src/state/clients/tier.ts';
import type { ExchangeTransport } from '../../../src/state/clients/region-exchange.ts';
import type { RegionExchangeRequest } from '../../../src/state/protocol/region-exchange-protocol.ts';

const services = ['tiered', 'tiered-b', 'tiered-c'].map((name) => ({ name, routes: [{ pathPrefix: `/${name}` }], instances: [{ url: 'https://origin.example.com' }], policies: { circuitBreaker: {} } }));
const config = parseGatewayConfig({ gateway: { statePlane: { tier: { enabled: true } } }, services });
// A long backoff and time limit, so the outcome does not depend on how fast a busy machine runs the test (a cold
// object's first call can take over a second here).
const settings = { ...config.gateway.statePlane, unreachableBackoffMs: 60_000, callTimeoutMs: 30_000 };
const policy = { ratePerSecond: 10, capacity: 100, maxLease: 10, leaseTtlMs: 2_000 };

/** The real bindings, with every location object throwing (as an unreachable or broken one does). */
function envWithBrokenRegions(calls: string[]): Env {
  const fail = (method: string) => () => (calls.push(method), Promise.reject(new Error('location object down')));
  const broken = { exchange: fail('exchange'), config: fail('config') };
  return { SERVICE_STATE: env.SERVICE_STATE, RATE_LIMITS: env.RATE_LIMITS, REGISTRY: env.REGISTRY, SERVICE_REGIONS: { getByName: () => broken } } as unknown as Env;
}

/** An isolate in `colo` with pools of the three services, each with outcomes and traffic to report. */
function isolateWithTraffic(colo: string): { isolate: IsolateContext; pools: ServicePool[] } {
  const isolate = new IsolateContext();
  noteIsolatePlace({ colo }, isolate);
  const pools = config.services.map((service) => new ServicePool(service, isolate));
  for (const pool of pools) {
    pool.recordOutcome(pool.instances[0]!, false, 12);
    pool.state.recordRequest({ method: 'GET', status: 200, outcome: 'ok', latencyMs: 12, upstreamMs: 10, bytesIn: 0, bytesOut: 100 }, Date.now());
  }
  return { isolate, pools };
}

/** The transport with each call to the region object recorded. */
function recorded(transport: ExchangeTransport, requests: RegionExchangeRequest[]): ExchangeTransport {
  return { ...transport, exchange: (request) => (requests.push(request), transport.exchange(request)) };
}

describe('location hints and exchange objects', () => {
  it('maps data centres to the platform hints, else by country and continent', () => {
    expect(locationHintOf({ colo: 'SYD' })).toBe('oc');
    expect(locationHintOf({ colo: 'FRA' })).toBe('weur');
    expect(locationHintOf({ colo: 'XXX', country: 'PL', continent: 'EU' })).toBe('eeur');
    expect(locationHintOf({ colo: 'XXX', continent: 'NA', longitude: '-122.3' })).toBe('wnam');
    expect(locationHintOf({})).toBeUndefined();
    expect(locationHintOf(undefined)).toBeUndefined();
  });

  it('goes direct while the isolate does not know its region (local development)', () => {
    expect(regionExchange(settings, new IsolateContext())).toBeUndefined();
    const isolate = new IsolateContext({ isolateId: 'isolate-1' });
    noteIsolatePlace({ colo: 'SIN' }, isolate);
    expect(regionExchange(settings, isolate)?.name).toBe(exchangeObjectName('apac', 'isolate-1', settings.tier.shardsPerRegion));
    expect(regionTarget(settings, '_registry', isolate)).toBe('_registry@apac');
  });

  it("spreads a region's isolates over its shards by their ids, each isolate always to the same one", () => {
    const perShard = new Map<string, number>();
    for (let i = 0; i < 1_000; i++) {
      const name = exchangeObjectName('apac', crypto.randomUUID(), 4);
      perShard.set(name, (perShard.get(name) ?? 0) + 1);
    }
    expect([...perShard.keys()].sort()).toEqual(['_all@apac#0', '_all@apac#1', '_all@apac#2', '_all@apac#3']);
    for (const n of perShard.values()) expect(n).toBeGreaterThan(180);
    expect(exchangeObjectName('apac', 'isolate-7', 4)).toBe(exchangeObjectName('apac', 'isolate-7', 4));
  });
});

describe('one exchange per isolate', () => {
  it("carries every due service's report and a lease in one call to the real region object, and applies a snapshot per service", async () => {
    const { isolate, pools } = isolateWithTraffic('NRT');
    const tier = regionExchange(settings, isolate)!;
    for (const pool of pools) tier.client.track(pool);
    const requests: RegionExchangeRequest[] = [];
    const transport = recorded(exchangeTransport(env, settings, tier.name, false, isolate), requests);
    const answer = await tier.client.acquire({ bucketKey: 'tiered-lease', policy, want: 10, returned: [] }, settings.syncIntervalMs, transport);
    expect(answer.lease?.granted).toBe(10);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.reports.map((r) => r.serviceName).sort()).toEqual(['tiered', 'tiered-b', 'tiered-c']);
    for (const pool of pools) expect(pool.state.snapshot?.breaker.state, pool.service.name).toBe('closed');
    // Nothing new since: no service is due, so no call.
    expect(tier.client.syncIfDue(isolate.now(), settings.syncIntervalMs, transport)).toBeUndefined();
    expect(requests).toHaveLength(1);
  });
});

describe('failover to direct mode', () => {
  it('syncs with the global object when the location object throws, then skips the region for the backoff', async () => {
    defaultIsolateContext.locationHint = 'weur';
    defaultIsolateContext.placeKnown = true;
    const calls: string[] = [];
    const brokenEnv = envWithBrokenRegions(calls);
    const pool = new ServicePool(config.services[0]!);
    const global = env.SERVICE_STATE.getByName('tiered');
    const reportersBefore = (await global.status(pool.statePolicy)).reportingIsolates;
    await syncServiceStateNow(brokenEnv, pool, settings);
    // The region was tried once, and the snapshot came from the global object.
    expect(calls).toEqual(['exchange']);
    expect(pool.state.snapshot?.breaker.state).toBe('closed');
    // Within the backoff the region is not tried again.
    await syncServiceStateNow(brokenEnv, pool, settings);
    expect(calls).toEqual(['exchange']);
    // This isolate now reports to the global object itself.
    expect((await global.status(pool.statePolicy)).reportingIsolates).toBe(reportersBefore + 1);
  });

  it("sends every part of a failed exchange to the global objects: each service's report and the lease", async () => {
    const { isolate, pools } = isolateWithTraffic('GRU');
    const tier = regionExchange(settings, isolate)!;
    for (const pool of pools) tier.client.track(pool);
    const calls: string[] = [];
    const answer = await tier.client.acquire({ bucketKey: 'tiered-failover', policy, want: 10, returned: [] }, settings.syncIntervalMs, exchangeTransport(envWithBrokenRegions(calls), settings, tier.name, false, isolate));
    expect(calls).toEqual(['exchange']);
    expect(answer.lease?.granted).toBe(10);
    for (const pool of pools) expect(pool.state.snapshot?.breaker.state, pool.service.name).toBe('closed');
    expect((await env.RATE_LIMITS.getByName('tiered-failover').inspect(policy)).onLease).toBe(10);
    expect(tier.client.usesRegion(isolate.now())).toBe(false);
    expect(tier.client.fallbacks).toBe(1);
  });

  it('does not bypass an overloaded region object: the lease fails and the policy decides', async () => {
    const { isolate } = isolateWithTraffic('LHR');
    const tier = regionExchange(settings, isolate)!;
    let direct = 0;
    const transport: ExchangeTransport = {
      exchange: () => Promise.reject(Object.assign(new Error('too many requests queued'), { overloaded: true })),
      directSync: () => (direct++, Promise.reject(new Error('not expected'))),
      directAcquire: () => (direct++, Promise.reject(new Error('not expected'))),
    };
    await expect(tier.client.acquire({ bucketKey: 'tiered-overloaded', policy, want: 10, returned: [] }, settings.syncIntervalMs, transport)).rejects.toThrow('too many requests queued');
    expect(direct).toBe(0);
    expect(tier.client.usesRegion(isolate.now())).toBe(true);
  });
});
