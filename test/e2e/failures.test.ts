import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl } from '../support/ports.ts';
import { rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let hanging: TestOrigin;
let healthy: TestOrigin;
let unavailable: TestOrigin;
let dead: string;
const held: ServerResponse[] = [];

beforeAll(async () => {
  // Accepts the request and never answers: only the gateway's timeout ends it.
  hanging = await startOrigin((req, res) => {
    req.resume();
    held.push(res);
  });
  healthy = await startOrigin(answer('healthy'));
  unavailable = await startOrigin(answer('unavailable', 503));
  dead = await closedPortUrl();
  gateway = await startGateway({
    services: [
      { name: 'slow', routes: [{ pathPrefix: '/slow' }], instances: [{ url: hanging.url }], timeouts: { requestMs: 300 } },
      { name: 'gone', routes: [{ pathPrefix: '/gone' }], instances: [{ url: dead }] },
      {
        // Round robin over a dead and a live instance: every other first attempt fails to connect.
        name: 'half',
        routes: [{ pathPrefix: '/half' }],
        instances: [{ id: 'dead', url: dead }, { id: 'live', url: healthy.url }],
        loadBalancing: { strategy: 'round_robin', failureCooldownMs: 0 },
      },
      {
        name: 'half-post',
        routes: [{ pathPrefix: '/half-post' }],
        instances: [{ id: 'dead', url: dead }, { id: 'live', url: healthy.url }],
        loadBalancing: { strategy: 'round_robin', failureCooldownMs: 0 },
        retries: { methods: ['GET', 'POST'] },
      },
      {
        name: 'overloaded',
        routes: [{ pathPrefix: '/overloaded' }],
        instances: [{ id: 'busy', url: unavailable.url }, { id: 'live', url: healthy.url }],
      },
      {
        name: 'sluggish',
        routes: [{ pathPrefix: '/sluggish' }],
        instances: [{ id: 'hanging', url: hanging.url }, { id: 'live', url: healthy.url }],
        loadBalancing: { strategy: 'round_robin', failureCooldownMs: 0 },
        timeouts: { requestMs: 5_000, perTryMs: 200 },
        retries: { on: ['timeout', 'connect-failure'] },
      },
    ],
  });
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await gateway?.stop();
  await Promise.all([hanging, healthy, unavailable].map((origin) => origin?.close()));
});

describe('failures', () => {
  it('answers 504 upstream-timeout when the origin does not answer in time', async () => {
    const started = Date.now();
    const response = await rawRequest(gateway.url, '/slow/x');
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:upstream-timeout', detail: 'The service "slow" did not answer within 300 ms.' });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('answers 502 upstream-unreachable when the connection is refused', async () => {
    const response = await rawRequest(gateway.url, '/gone/x', { headers: { 'accept-language': 'hi' } });
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:upstream-unreachable', detail: 'सेवा "gone" के किसी भी इंस्टेंस से संपर्क नहीं हो सका।' });
  });

  it('retries an idempotent request on the second instance after a connect failure', async () => {
    for (let i = 0; i < 6; i++) {
      const response = await rawRequest(gateway.url, `/half/${i}`);
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ origin: 'healthy' });
    }
  });

  it('does not retry a POST unless the service allows it', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await rawRequest(gateway.url, '/half/p', { method: 'POST', body: 'x' })).status);
    expect(statuses.filter((status) => status === 502)).toHaveLength(2);
    expect(statuses.filter((status) => status === 200)).toHaveLength(2);
  });

  it('retries a POST with a small body when the service lists POST', async () => {
    for (let i = 0; i < 4; i++) {
      const response = await rawRequest(gateway.url, '/half-post/p', { method: 'POST', body: 'payload' });
      expect(response.status).toBe(200);
    }
  });

  it('retries on a 503 from the origin on another instance', async () => {
    const before = unavailable.requests.length;
    for (let i = 0; i < 4; i++) {
      const response = await rawRequest(gateway.url, '/overloaded/x');
      expect(response.status).toBe(200);
    }
    // Round robin sent half of the first attempts to the busy instance; each was retried on the live one.
    expect(unavailable.requests.length - before).toBe(2);
  });

  it('gives up on an attempt after perTryMs and retries on another instance', async () => {
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const response = await rawRequest(gateway.url, '/sluggish/x');
      expect(response.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
  });
});
