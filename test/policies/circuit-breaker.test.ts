import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { Env } from '../../src/env.ts';
import { serviceStateClient } from '../../src/state/clients/service-state-client.ts';
import { statePlaneCounters } from '../../src/state/infra/state-plane-metrics.ts';
import { send } from '../support/gateway.ts';

const scripted = inject('scriptedOrigin');

function fragile(name: string, circuitBreaker: Record<string, unknown> = {}): GatewayConfigInput {
  return {
    gateway: { statePlane: { syncIntervalMs: 60_000, callTimeoutMs: 1_000 } },
    services: [
      {
        name,
        routes: [{ pathPrefix: `/${name}` }],
        instances: [{ url: scripted }],
        retries: { attempts: 0 },
        policies: { circuitBreaker: { minimumCalls: 4, failureRateThreshold: 0.5, openSeconds: 30, ...circuitBreaker } },
      },
    ],
  };
}

async function originCount(path: string): Promise<number> {
  return Number(await (await fetch(`${scripted}/__count?path=${encodeURIComponent(path)}`)).text());
}

/** A SERVICE_STATE namespace whose every object throws: the state plane is down. */
const unreachable = {
  getByName: () => {
    const fail = () => Promise.reject(Object.assign(new Error('Durable Object is overloaded.'), { retryable: true, overloaded: true }));
    return { sync: fail, tryProbe: fail, reportProbe: fail };
  },
} as unknown as Env['SERVICE_STATE'];

describe('circuit breaker policy', () => {
  it('opens on failures reported by the isolate, then answers 503 with Retry-After without calling the origin', async () => {
    const config = fragile('fragile');
    for (let i = 0; i < 4; i++) expect((await send(config, '/fragile/work')).status).toBe(500);
    // The next request carries this isolate's outcomes to the service object and brings back its verdict.
    serviceStateClient('fragile').expire();
    await send(config, '/fragile/work');
    const callsBefore = await originCount('/fragile/work');

    const refused = await send(config, '/fragile/work', { headers: { 'accept-language': 'es' } });

    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(29);
    expect(await refused.json()).toMatchObject({ type: 'urn:edge-gateway:problem:circuit-open', title: 'Circuito del servicio abierto' });
    expect(await originCount('/fragile/work')).toBe(callsBefore);
  });

  it('stays closed while the failure rate is under the threshold', async () => {
    const config = fragile('sturdy');
    await send(config, '/sturdy/a?status=500');
    for (let i = 0; i < 4; i++) await send(config, '/sturdy/a?status=200');
    serviceStateClient('sturdy').expire();
    await send(config, '/sturdy/a?status=200');
    expect((await send(config, '/sturdy/a?status=200')).status).toBe(200);
  });

  it('admits, and counts it, when the breaker state is unreachable and the policy fails open', async () => {
    const before = statePlaneCounters.failedOpen['circuit-breaker'];
    const response = await send(fragile('blind-open'), '/blind-open/x?status=200', {}, { SERVICE_STATE: unreachable });
    expect(response.status).toBe(200);
    expect(statePlaneCounters.failedOpen['circuit-breaker']).toBe(before + 1);
  });

  it('answers 503, and counts it, when the breaker state is unreachable and the policy fails closed', async () => {
    const before = statePlaneCounters.failedClosed['circuit-breaker'];
    const response = await send(fragile('blind-closed', { failOpen: false }), '/blind-closed/x?status=200', {}, { SERVICE_STATE: unreachable });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:breaker-unavailable' });
    expect(statePlaneCounters.failedClosed['circuit-breaker']).toBe(before + 1);
    expect(await originCount('/blind-closed/x')).toBe(0);
  });

  // Issue 9: with the state plane down, every request without a snapshot used to wait for a sync of its own.
  it('after a failed sync, decides from failOpen at once for a while instead of calling the object per request', async () => {
    let calls = 0;
    const counting = {
      getByName: () => {
        const fail = () => {
          calls += 1;
          return Promise.reject(Object.assign(new Error('Durable Object reset because its code was updated.'), { retryable: false }));
        };
        return { sync: fail, tryProbe: fail, reportProbe: fail };
      },
    } as unknown as Env['SERVICE_STATE'];
    const config = fragile('down', { failOpen: false });
    config.gateway!.statePlane = { syncIntervalMs: 60_000, callTimeoutMs: 1_000, unreachableBackoffMs: 60_000 };
    const before = statePlaneCounters.failedClosed['circuit-breaker'];
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(config, '/down/x?status=200', {}, { SERVICE_STATE: counting })).status);
    expect(statuses).toEqual([503, 503, 503]);
    expect(calls).toBe(1);
    expect(statePlaneCounters.failedClosed['circuit-breaker']).toBe(before + 3);
  });

  it('counts a snapshot older than snapshotMaxAgeMs as unknown', async () => {
    const config = fragile('stale', { failOpen: false });
    config.gateway!.statePlane = { syncIntervalMs: 60_000, callTimeoutMs: 1_000, snapshotMaxAgeMs: 5_000 };
    expect((await send(config, '/stale/x?status=200')).status).toBe(200);
    // The last snapshot this isolate got is now a minute old, and the object cannot be reached for a newer one.
    serviceStateClient('stale').snapshotReceivedAt -= 60_000;
    const response = await send(config, '/stale/x?status=200', {}, { SERVICE_STATE: unreachable });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:breaker-unavailable' });
  });
});
