import { describe, expect, it } from 'vitest';
import { InstanceState } from '../../src/balancing/instance-state.ts';
import { ServicePool } from '../../src/balancing/service-pool.ts';
import { latencyAware, leastConnections, roundRobin, weightedRoundRobin } from '../../src/balancing/strategies.ts';
import { parseGatewayConfig } from '../../src/config/load.ts';
import { seededRandom } from '../support/random.ts';

function instances(...weights: number[]): InstanceState[] {
  return weights.map((weight, i) => new InstanceState({ id: `i${i + 1}`, url: `http://127.0.0.1:${9000 + i}`, weight }));
}

function tally(picks: InstanceState[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const pick of picks) counts[pick.id] = (counts[pick.id] ?? 0) + 1;
  return counts;
}

describe('round robin', () => {
  it('takes each instance in turn', () => {
    const pool = instances(1, 1, 1);
    const balancer = roundRobin();
    const picks = Array.from({ length: 7 }, () => balancer.pick(pool, 0, false).id);
    expect(picks).toEqual(['i1', 'i2', 'i3', 'i1', 'i2', 'i3', 'i1']);
  });
});

describe('smooth weighted round robin', () => {
  it('interleaves 5:1:1 as nginx does, without bursts', () => {
    const pool = instances(5, 1, 1);
    const balancer = weightedRoundRobin();
    const picks = Array.from({ length: 7 }, () => balancer.pick(pool, 0, false).id);
    expect(picks).toEqual(['i1', 'i1', 'i2', 'i1', 'i3', 'i1', 'i1']);
  });

  it('gives each instance exactly its share of a whole cycle', () => {
    const pool = instances(3, 2, 1);
    const balancer = weightedRoundRobin();
    expect(tally(Array.from({ length: 600 }, () => balancer.pick(pool, 0, false)))).toEqual({ i1: 300, i2: 200, i3: 100 });
  });
});

describe('least connections', () => {
  it('sends new requests to the instance with fewer in flight', () => {
    const pool = instances(1, 1);
    pool[0]!.inFlight = 3;
    const balancer = leastConnections(seededRandom(1));
    expect(tally(Array.from({ length: 100 }, () => balancer.pick(pool, 0, false)))).toEqual({ i2: 100 });
  });

  it('keeps in-flight counts level when requests pile up', () => {
    const pool = instances(1, 1, 1, 1);
    const balancer = leastConnections(seededRandom(7));
    for (let i = 0; i < 400; i++) balancer.pick(pool, 0, false).inFlight += 1;
    const counts = pool.map((instance) => instance.inFlight);
    // Power of two choices keeps the spread within a few requests of the mean (100).
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(4);
  });

  it('weighs in-flight counts by weight', () => {
    const pool = instances(3, 1);
    const balancer = leastConnections(seededRandom(3));
    for (let i = 0; i < 400; i++) balancer.pick(pool, 0, false).inFlight += 1;
    expect(pool[0]!.inFlight).toBeGreaterThanOrEqual(295);
    expect(pool[0]!.inFlight).toBeLessThanOrEqual(305);
  });
});

describe('latency aware (peak EWMA)', () => {
  it('prefers the faster instance', () => {
    const pool = instances(1, 1);
    pool[0]!.observeRtt(80, 0, 10_000);
    pool[1]!.observeRtt(10, 0, 10_000);
    const balancer = latencyAware(10_000, seededRandom(5));
    expect(tally(Array.from({ length: 50 }, () => balancer.pick(pool, 1, false)))).toEqual({ i2: 50 });
  });

  it('reacts to a slow sample at once and forgets it gradually', () => {
    const [instance] = instances(1);
    instance!.observeRtt(10, 0, 1_000);
    instance!.observeRtt(200, 10, 1_000);
    expect(instance!.rttEstimate(10, 1_000)).toBe(200);
    instance!.observeRtt(10, 1_010, 1_000);
    const estimate = instance!.rttEstimate(1_010, 1_000);
    // One decay period later the fast sample has pulled the estimate most of the way down.
    expect(estimate).toBeGreaterThan(10);
    expect(estimate).toBeLessThan(100);
  });

  it('counts outstanding requests, so a fast but saturated instance yields', () => {
    const pool = instances(1, 1);
    pool[0]!.observeRtt(10, 0, 10_000);
    pool[1]!.observeRtt(30, 0, 10_000);
    pool[0]!.inFlight = 5;
    const balancer = latencyAware(10_000, seededRandom(9));
    expect(balancer.pick(pool, 0, false).id).toBe('i2');
  });
});

describe('ServicePool.choose', () => {
  const config = parseGatewayConfig({
    services: [
      {
        name: 'svc',
        routes: [{ pathPrefix: '/svc' }],
        instances: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:3' }],
      },
    ],
  });

  it('skips a down instance until its cooldown has passed', () => {
    const pool = new ServicePool(config.services[0]!);
    pool.instances[0]!.markFailure(1_000, 5_000);
    const during = Array.from({ length: 6 }, () => pool.choose(new Set(), 2_000)!.id);
    expect(during).not.toContain('svc-1');
    const after = Array.from({ length: 6 }, () => pool.choose(new Set(), 6_001)!.id);
    expect(after).toContain('svc-1');
  });

  it('never offers an instance already tried for this request', () => {
    const pool = new ServicePool(config.services[0]!);
    const tried = new Set([pool.instances[0]!, pool.instances[1]!]);
    expect(pool.choose(tried, 0)!.id).toBe('svc-3');
    tried.add(pool.instances[2]!);
    expect(pool.choose(tried, 0)).toBeUndefined();
  });

  it('tries a down instance when every untried one is down (panic mode)', () => {
    const pool = new ServicePool(config.services[0]!);
    for (const instance of pool.instances) instance.markFailure(0, 60_000);
    expect(pool.choose(new Set(), 1)).toBeDefined();
  });
});

describe('retries and rotation', () => {
  it('round robin: a retry does not shift where the next first attempt goes', () => {
    const pool = instances(1, 1);
    const balancer = roundRobin();
    const first = balancer.pick(pool, 0, false);
    const retry = balancer.pick(pool.filter((instance) => instance !== first), 0, true);
    expect(retry).not.toBe(first);
    expect(balancer.pick(pool, 0, false)).not.toBe(first);
  });

  it('smooth weighted round robin: a retry leaves the running weights alone', () => {
    const pool = instances(5, 1, 1);
    const balancer = weightedRoundRobin();
    balancer.pick(pool, 0, false);
    const weights = pool.map((instance) => instance.currentWeight);
    expect(balancer.pick(pool.slice(1), 0, true).id).toBe('i2');
    expect(pool.map((instance) => instance.currentWeight)).toEqual(weights);
  });
});
