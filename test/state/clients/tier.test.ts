import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ServicePool } from '../../../src/balancing/service-pool.ts';
import { parseGatewayConfig } from '../../../src/config/load.ts';
import type { Env } from '../../../src/env.ts';
import { IsolateContext, defaultIsolateContext } from '../../../src/state/infra/isolate-context.ts';
import { locationHintOf } from '../../../src/state/infra/location-hints.ts';
import { syncServiceStateNow } from '../../../src/state/clients/sync-service-state.ts';
import { noteIsolatePlace, regionTarget, throughRegion } from '../../../src/state/clients/tier.ts';

const config = parseGatewayConfig({
  gateway: { statePlane: { tier: { enabled: true } } },
  services: [{ name: 'tiered', routes: [{ pathPrefix: '/tiered' }], instances: [{ url: 'https://origin.example.com' }], policies: { circuitBreaker: {} } }],
});
// A long backoff and time limit, so the outcome does not depend on how fast a busy machine runs the test (a cold
// object's first call can take over a second here).
const settings = { ...config.gateway.statePlane, unreachableBackoffMs: 60_000, callTimeoutMs: 30_000 };

/** The real bindings, with every location object throwing (as an unreachable or broken one does). */
function envWithBrokenRegions(calls: string[]): Env {
  const fail = (method: string) => () => (calls.push(method), Promise.reject(new Error('location object down')));
  const broken = { sync: fail('sync'), acquire: fail('acquire'), config: fail('config') };
  return { SERVICE_STATE: env.SERVICE_STATE, RATE_LIMITS: env.RATE_LIMITS, REGISTRY: env.REGISTRY, SERVICE_REGIONS: { getByName: () => broken } } as unknown as Env;
}

describe('location hints', () => {
  it('maps data centres to the platform hints, else by country and continent', () => {
    expect(locationHintOf({ colo: 'SYD' })).toBe('oc');
    expect(locationHintOf({ colo: 'FRA' })).toBe('weur');
    expect(locationHintOf({ colo: 'XXX', country: 'PL', continent: 'EU' })).toBe('eeur');
    expect(locationHintOf({ colo: 'XXX', continent: 'NA', longitude: '-122.3' })).toBe('wnam');
    expect(locationHintOf({})).toBeUndefined();
    expect(locationHintOf(undefined)).toBeUndefined();
  });

  it('goes direct while the isolate does not know its region (local development)', () => {
    expect(regionTarget(settings, 'tiered', new IsolateContext())).toBeUndefined();
    const isolate = new IsolateContext();
    noteIsolatePlace({ colo: 'SIN' }, isolate);
    expect(regionTarget(settings, 'tiered', isolate)).toBe('tiered@apac');
  });
});

describe('failover to direct mode', () => {
  it('syncs with the global object when the location object throws, then skips the region for the backoff', async () => {
    defaultIsolateContext.locationHint = 'weur';
    defaultIsolateContext.placeKnown = true;
    const calls: string[] = [];
    const brokenEnv = envWithBrokenRegions(calls);
    const pool = new ServicePool(config.services[0]!);
    await syncServiceStateNow(brokenEnv, pool, settings);
    // The region was tried once, and the snapshot came from the global object.
    expect(calls).toEqual(['sync']);
    expect(pool.state.snapshot?.breaker.state).toBe('closed');
    // Within the backoff the region is not tried again.
    await syncServiceStateNow(brokenEnv, pool, settings);
    expect(calls).toEqual(['sync']);
    const status = await env.SERVICE_STATE.getByName('tiered').status(pool.statePolicy);
    expect(status.reportingIsolates).toBe(1);
  });

  it('leases from the global bucket when the location object throws', async () => {
    const isolate = new IsolateContext();
    noteIsolatePlace({ colo: 'GRU' }, isolate);
    const calls: string[] = [];
    const policy = { ratePerSecond: 10, capacity: 100, maxLease: 10, leaseTtlMs: 2_000 };
    const name = regionTarget(settings, 'tiered', isolate);
    const answer = await throughRegion(
      envWithBrokenRegions(calls),
      name,
      settings,
      (stub) => stub.acquire('tiered', policy, 10, [], { callTimeoutMs: 1_000, syncIntervalMs: 1_000, blockFactor: 4 }),
      () => env.RATE_LIMITS.getByName('tiered').acquire(policy, 10, []),
      { kind: 'rate-limit-lease' },
      isolate,
    );
    expect(calls).toEqual(['acquire']);
    expect(answer.lease?.granted).toBe(10);
    expect(regionTarget(settings, 'tiered', isolate)).toBeUndefined();
  });
});
