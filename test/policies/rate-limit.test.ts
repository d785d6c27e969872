import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { Env } from '../../src/env.ts';
import { statePlaneCounters } from '../../src/state/infra/state-plane-metrics.ts';
import { send } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');

function limited(name: string, rateLimit: Record<string, unknown>, routes: { pathPrefix: string }[] = [{ pathPrefix: `/${name}` }]): GatewayConfigInput {
  return { services: [{ name, routes, instances: [{ url: echo! }], policies: { rateLimit: rateLimit as never } }] };
}

/** A RATE_LIMITS namespace whose every object throws: the state plane is down. */
const unreachable = {
  getByName: () => ({
    acquire: () => Promise.reject(Object.assign(new Error('Durable Object reset because its code was updated.'), { retryable: false })),
  }),
} as unknown as Env['RATE_LIMITS'];

describe('rate limit policy', () => {
  it('answers 429 with RateLimit and Retry-After once the burst is spent', async () => {
    const config = limited('burst', { limit: 60, windowSeconds: 60, burst: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await send(config, '/burst/x');
      statuses.push(response.status);
      expect(response.headers.get('ratelimit-policy')).toBe('"burst";q=60;w=60');
      expect(response.headers.get('ratelimit')).toMatch(/^"burst";r=\d+;t=\d+$/);
    }
    const refused = await send(config, '/burst/x');
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('ratelimit')).toBe('"burst";r=0;t=1');
    expect(await refused.json()).toMatchObject({ type: 'urn:edge-gateway:problem:rate-limited', status: 429 });
  });

  it('counts down RateLimit remaining as requests are admitted', async () => {
    const config = limited('countdown', { limit: 600, windowSeconds: 60, burst: 10, maxLease: 1 });
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const header = (await send(config, '/countdown/x')).headers.get('ratelimit')!;
      remaining.push(Number(/r=(\d+)/.exec(header)![1]));
    }
    expect(remaining).toEqual([9, 8, 7]);
  });

  it("sends Kong's RateLimit-Limit, -Remaining and -Reset when asked", async () => {
    const response = await send(limited('legacy', { limit: 100, legacyHeaders: true }), '/legacy/x');
    expect(response.headers.get('ratelimit-limit')).toBe('100');
    expect(response.headers.get('ratelimit-remaining')).toMatch(/^\d+$/);
    expect(response.headers.get('ratelimit-reset')).toMatch(/^\d+$/);
  });

  it('keeps one bucket per client IP when limiting by IP', async () => {
    const config = limited('per-ip', { limit: 60, burst: 2, by: 'ip' });
    const from = (ip: string) => send(config, '/per-ip/x', { headers: { 'cf-connecting-ip': ip } });
    expect([(await from('192.0.2.1')).status, (await from('192.0.2.1')).status, (await from('192.0.2.1')).status]).toEqual([200, 200, 429]);
    expect((await from('192.0.2.2')).status).toBe(200);
  });

  it('keeps one bucket per route when asked', async () => {
    const config = limited('per-route', { limit: 60, burst: 1, perRoute: true }, [{ pathPrefix: '/per-route/a' }, { pathPrefix: '/per-route/b' }]);
    expect((await send(config, '/per-route/a/1')).status).toBe(200);
    expect((await send(config, '/per-route/a/1')).status).toBe(429);
    expect((await send(config, '/per-route/b/1')).status).toBe(200);
  });

  it('admits, and counts it, when the bucket object is unreachable and the policy fails open', async () => {
    const before = statePlaneCounters.failedOpen['rate-limit'];
    const response = await send(limited('open', { limit: 1, failOpen: true }), '/open/x', {}, { RATE_LIMITS: unreachable });
    expect(response.status).toBe(200);
    expect(statePlaneCounters.failedOpen['rate-limit']).toBe(before + 1);
  });

  it('answers 503, and counts it, when the bucket object is unreachable and the policy fails closed', async () => {
    const before = statePlaneCounters.failedClosed['rate-limit'];
    const response = await send(limited('closed', { limit: 1, failOpen: false }), '/closed/x', {}, { RATE_LIMITS: unreachable });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:rate-limit-unavailable' });
    expect(statePlaneCounters.failedClosed['rate-limit']).toBe(before + 1);
  });

  it('spends leases locally: requests covered by a lease make no object call', async () => {
    const config = limited('leased', { limit: 6_000, burst: 1_000, maxLease: 50, leaseTtlMs: 60_000 });
    const before = statePlaneCounters.synchronousCalls['rate-limit-lease'];
    for (let i = 0; i < 40; i++) expect((await send(config, '/leased/x')).status).toBe(200);
    // Leases grow with this isolate's request rate (1, 1, 2, 3, 5, ...): 40 requests take about ten calls.
    expect(statePlaneCounters.synchronousCalls['rate-limit-lease'] - before).toBeLessThan(40 / 3);
  });

  // Issue 9: a throwing acquire set no backoff, so every request paid a call (and its timeout) to a dead object.
  it('after a failed lease call, decides from failOpen at once for a while instead of calling per request', async () => {
    let calls = 0;
    const counting = {
      getByName: () => ({
        acquire: () => {
          calls += 1;
          return Promise.reject(Object.assign(new Error('Durable Object reset because its code was updated.'), { retryable: false }));
        },
      }),
    } as unknown as Env['RATE_LIMITS'];
    const config = { ...limited('down', { limit: 60, failOpen: true }), gateway: { statePlane: { unreachableBackoffMs: 60_000 } } };
    const before = statePlaneCounters.failedOpen['rate-limit'];
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(config, '/down/x', {}, { RATE_LIMITS: counting })).status);
    expect(statuses).toEqual([200, 200, 200]);
    expect(calls).toBe(1);
    expect(statePlaneCounters.failedOpen['rate-limit']).toBe(before + 3);
  });
});
