import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/simulation/simulator.ts';
import { smallScenario } from '../../src/simulation/scenario.ts';
import { LOCATION_HINTS } from '../../src/state/infra/location-hints.ts';

// Small runs (40 isolates, 8 locations, 12 simulated seconds) of the simulation's invariants, seeded.
describe('simulation invariants (small N, fixed seed)', { timeout: 60_000 }, () => {
  it.each(['direct', 'tier'] as const)('never admits more than limit + burst in any window, %s mode', async (mode) => {
    for (const seed of [1, 2, 3]) {
      const result = await simulate(smallScenario({ seed }), mode);
      expect(result.max_window_admitted_over_allowed, `seed ${seed}`).toBeLessThanOrEqual(1);
      // Not nothing: a small limit spread over many region objects is not fully used (docs/scale.md), but it is used.
      expect(result.max_window_admitted_over_allowed, `seed ${seed}`).toBeGreaterThan(0.2);
      // The global sums count each request once at most, through the tier too.
      expect(result.traffic_counted_ratio).toBeLessThanOrEqual(1);
    }
  });

  it('keeps limit + burst with a limit so tight every isolate competes for single tokens', async () => {
    const tight = smallScenario({ rateLimit: { limit: 100, windowSeconds: 1, burst: 20, maxLease: 5, leaseTtlMs: 1_000 } });
    for (const mode of ['direct', 'tier'] as const) expect((await simulate(tight, mode)).max_window_admitted_over_allowed).toBeLessThanOrEqual(1);
  });

  it("tier: one exchange per isolate carries several services' reports, for far fewer calls per request than direct", async () => {
    const scenario = smallScenario({ services: 30, durationS: 10 });
    const direct = await simulate(scenario, 'direct');
    const tier = await simulate(scenario, 'tier');
    expect(tier.reports_per_exchange).toBeGreaterThan(1);
    expect(tier.do_calls_per_request).toBeLessThan(direct.do_calls_per_request / 2);
    // Region to global calls are bounded by region objects x services per sync interval, whatever the isolates do.
    const hubs = 9 * scenario.shardsPerRegion;
    expect(tier.region_to_global_calls_per_s).toBeLessThan((hubs * scenario.services * 1000) / scenario.syncIntervalMs);
    expect(tier.max_window_admitted_over_allowed).toBeLessThanOrEqual(1);
  });

  it("spreads a busy region's calls over its shards", async () => {
    // 200 isolates: the hot region's single object is the most called; with four shards its calls split.
    const busy = { services: 30, isolates: 200, busiestRps: 5_000, rateLimit: { limit: 3_000, windowSeconds: 1, burst: 1_500, maxLease: 50, leaseTtlMs: 2_000 } };
    const one = await simulate(smallScenario({ ...busy, shardsPerRegion: 1 }), 'tier');
    const four = await simulate(smallScenario({ ...busy, shardsPerRegion: 4 }), 'tier');
    expect(one.most_called_object).toMatch(/^_all@\w+#0$/);
    expect(four.most_called_object_rps_p99).toBeLessThan(one.most_called_object_rps_p99 * 0.4);
    expect(four.max_window_admitted_over_allowed).toBeLessThanOrEqual(1);
  });

  it('is deterministic for a seed', async () => {
    expect(await simulate(smallScenario({ seed: 5 }), 'tier')).toEqual(await simulate(smallScenario({ seed: 5 }), 'tier'));
  });

  it('falls back to direct calls when the location objects throw, and still keeps the limit', async () => {
    const result = await simulate(smallScenario(), 'tier', { unreachableRegions: [...LOCATION_HINTS] });
    expect(result.region_fallbacks).toBeGreaterThan(0);
    expect(result.max_window_admitted_over_allowed).toBeLessThanOrEqual(1);
    // Requests are still served: the breaker still opens on the failing service and stops its traffic.
    expect(result.admitted_after_breaker_open_s).toBeLessThan(3);
  });

  it("opens the failing service's breaker in both modes and stops its traffic within seconds", async () => {
    for (const mode of ['direct', 'tier'] as const) {
      const result = await simulate(smallScenario(), mode);
      expect(Number.isFinite(result.admitted_after_breaker_open_s), mode).toBe(true);
      expect(result.admitted_after_breaker_open_s, mode).toBeLessThan(3);
    }
  });
});
