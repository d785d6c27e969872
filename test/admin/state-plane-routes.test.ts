import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { serviceStateClient } from '../../src/state/clients/service-state-client.ts';
import { asAdmin, send } from '../support/gateway.ts';

const scripted = inject('scriptedOrigin');
const [echo1, echo2] = inject('echoOrigins');

const config: GatewayConfigInput = {
  gateway: { statePlane: { syncIntervalMs: 60_000, callTimeoutMs: 1_000 } },
  services: [
    {
      name: 'admin-fragile',
      routes: [{ pathPrefix: '/admin-fragile' }],
      instances: [{ id: 'only', url: scripted }],
      retries: { attempts: 0 },
      policies: { circuitBreaker: { minimumCalls: 3, openSeconds: 60 } },
    },
    {
      name: 'admin-pair',
      routes: [{ pathPrefix: '/admin-pair' }],
      instances: [{ id: 'first', url: echo1! }, { id: 'second', url: echo2! }],
      loadBalancing: { strategy: 'least_connections' },
    },
  ],
};

async function openBreaker(): Promise<void> {
  for (let i = 0; i < 3; i++) await send(config, '/admin-fragile/x');
  serviceStateClient('admin-fragile').expire();
  await send(config, '/admin-fragile/x');
  expect((await send(config, '/admin-fragile/x?status=200')).status).toBe(503);
}

describe('state plane admin endpoints', () => {
  it('GET /gateway/circuit-breakers shows each breaker with its recent events', async () => {
    await openBreaker();
    const response = await send(config, '/gateway/circuit-breakers', asAdmin());
    expect(response.status).toBe(200);
    const body = (await response.json()) as { services: { service: string; breaker: { state: string } | null; events: { kind: string }[] }[] };
    const fragile = body.services.find((s) => s.service === 'admin-fragile')!;
    expect(fragile.breaker).toMatchObject({ state: 'open', enabled: true });
    expect(fragile.events.map((e) => e.kind)).toContain('breaker-opened');
    expect(body.services.find((s) => s.service === 'admin-pair')!.breaker).toBeNull();
  });

  it('POST /gateway/circuit-breakers/{service}/reset closes the breaker, and requests reach the origin again', async () => {
    await openBreaker();
    const response = await send(config, '/gateway/circuit-breakers/admin-fragile/reset', asAdmin({ method: 'POST' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ service: 'admin-fragile', breaker: { state: 'closed' } });
    expect((await send(config, '/admin-fragile/x?status=200')).status).toBe(200);
  });

  it('answers 404 service-not-found to a reset of an unknown service', async () => {
    const response = await send(config, '/gateway/circuit-breakers/nope/reset', asAdmin({ method: 'POST' }));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:service-not-found' });
  });

  it('GET /gateway/load-balancing shows strategy, in-flight counts and ejections per instance', async () => {
    await send(config, '/admin-pair/x');
    serviceStateClient('admin-pair').expire();
    await send(config, '/admin-pair/x');
    const body = (await (await send(config, '/gateway/load-balancing', asAdmin())).json()) as {
      services: { service: string; strategy: string; reportingIsolates: number; instances: Record<string, unknown>[] }[];
    };
    const pair = body.services.find((s) => s.service === 'admin-pair')!;
    expect(pair.strategy).toBe('least_connections');
    expect(pair.reportingIsolates).toBe(1);
    expect(pair.instances.map((i) => i.id)).toEqual(['first', 'second']);
    expect(pair.instances[0]).toMatchObject({ inFlight: { thisIsolate: 0, allIsolates: 0 }, ejected: false, timesEjected: 0 });
    expect(pair.instances.some((i) => typeof i.ewmaMs === 'number')).toBe(true);
  });

  it('GET /gateway/state-plane counts requests and Durable Object calls', async () => {
    await send(config, '/admin-pair/x');
    const report = (await (await send(config, '/gateway/state-plane', asAdmin())).json()) as { requests: number; callsPerRequest: number; backgroundCalls: Record<string, number> };
    expect(report.requests).toBeGreaterThan(0);
    expect(report.backgroundCalls['service-sync']).toBeGreaterThan(0);
    expect(report.callsPerRequest).toBeGreaterThan(0);
  });
});
