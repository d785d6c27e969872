import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN_HEADERS, eventually as eventuallyWithin, rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let limited: TestOrigin;
let a: TestOrigin;
let b: TestOrigin;
let slow: TestOrigin;

beforeAll(async () => {
  [limited, a, b] = await Promise.all([startOrigin(answer('limited')), startOrigin(answer('a')), startOrigin(answer('b'))]);
  slow = await startOrigin((req, res) => setTimeout(() => answer('slow')(req, res), 300));
  gateway = await startGateway({
    gateway: { statePlane: { syncIntervalMs: 100, callTimeoutMs: 2_000 } },
    services: [
      {
        // 10 requests an hour with a burst of 10: in a test lasting seconds, exactly 10 get through.
        name: 'limited',
        routes: [{ pathPrefix: '/limited' }],
        instances: [{ url: limited.url }],
        policies: { rateLimit: { limit: 10, windowSeconds: 3_600, burst: 10 } },
      },
      {
        name: 'pair',
        routes: [{ pathPrefix: '/pair' }],
        instances: [{ id: 'a', url: a.url }, { id: 'b', url: b.url }],
        loadBalancing: { strategy: 'round_robin', failureCooldownMs: 0 },
        policies: {
          outlierEjection: { consecutiveFailures: 3 },
          circuitBreaker: { minimumCalls: 6, failureRateThreshold: 0.5, openSeconds: 60 },
        },
      },
      {
        // Leases of two tokens under 40 concurrent requests: renewals overlap all the time.
        name: 'busy',
        routes: [{ pathPrefix: '/busy' }],
        instances: [{ url: limited.url }],
        policies: { rateLimit: { limit: 1_000_000, windowSeconds: 60, maxLease: 2 } },
      },
      {
        name: 'narrow',
        routes: [{ pathPrefix: '/narrow' }],
        instances: [{ url: slow.url }],
        policies: { concurrency: { maxInFlight: 1, maxQueue: 1, queueTimeoutMs: 5_000 } },
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([limited, a, b, slow].map((origin) => origin?.close()));
});

/** Syncs in the background bring this state about: a longer bound and a tighter poll than the default. */
const eventually = (check: () => Promise<void>) => eventuallyWithin(check, 15_000, 50);

describe('state plane, end to end', () => {
  it('a burst of 25 concurrent requests gets exactly the 15 429s the policy predicts, and the origin sees 10', async () => {
    const responses = await Promise.all(Array.from({ length: 25 }, () => rawRequest(gateway.url, '/limited/x')));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15);
    expect(limited.requests).toHaveLength(10);
    const refused = responses.find((response) => response.status === 429)!;
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(300);
    expect(refused.headers['ratelimit-policy']).toBe('"limited";q=10;w=3600');
    expect(refused.headers.ratelimit).toMatch(/^"limited";r=0;t=\d+$/);
    expect(refused.json()).toMatchObject({ type: 'urn:edge-gateway:problem:rate-limited' });
  });

  it('killing an origin instance gets it ejected; killing the other trips the breaker', async () => {
    await a.close();
    // Round robin keeps trying a first for half the requests; each of those is retried on b and succeeds.
    await eventually(async () => {
      expect((await rawRequest(gateway.url, '/pair/x')).status).toBe(200);
      const balancing = (await rawRequest(gateway.url, '/gateway/load-balancing', { headers: E2E_ADMIN_HEADERS })).json<{ services: { service: string; instances: { id: string; ejected: boolean }[] }[] }>();
      const pair = balancing.services.find((service) => service.service === 'pair')!;
      expect(pair.instances.find((instance) => instance.id === 'a')!.ejected).toBe(true);
    });
    // With a ejected, b takes every first attempt.
    const before = b.requests.length;
    for (let i = 0; i < 4; i++) expect((await rawRequest(gateway.url, '/pair/x')).status).toBe(200);
    expect(b.requests.length - before).toBe(4);

    await b.close();
    await eventually(async () => {
      const response = await rawRequest(gateway.url, '/pair/x');
      expect(response.status).toBe(503);
      expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:circuit-open' });
    });
    const breakers = (await rawRequest(gateway.url, '/gateway/circuit-breakers', { headers: E2E_ADMIN_HEADERS })).json<{ services: { service: string; breaker: { state: string }; events: { kind: string; instance: string | null }[] }[] }>();
    const pair = breakers.services.find((service) => service.service === 'pair')!;
    expect(pair.breaker.state).toBe('open');
    expect(pair.events.map((event) => event.kind)).toEqual(expect.arrayContaining(['breaker-opened', 'instance-ejected']));
  });

  // Requests once waited on another request's lease renewal. Workers resumes such a waiter in the other request's
  // context, where its own upstream I/O fails ("Cannot perform I/O on behalf of a different request") or, if that
  // request is gone, never resumes. `npm run bench` (plain workerd, 32 connections) showed it as 0.5% 500s; under
  // wrangler dev it does not reproduce reliably, so this guards the concurrent path and the unit tests pin the
  // design (test/state/clients/leased-limiter.test.ts: every miss makes its own call).
  it('serves overlapping lease renewals of concurrent requests without cross-request failures', async () => {
    for (let round = 0; round < 3; round++) {
      const statuses = (await Promise.all(Array.from({ length: 40 }, () => rawRequest(gateway.url, '/busy/x')))).map((r) => r.status);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
    }
    expect(gateway.output()).not.toMatch(/different request|hung/);
  });

  it('queues a request behind the concurrency limit and refuses one beyond the queue', async () => {
    const statuses = (await Promise.all([0, 1, 2].map(() => rawRequest(gateway.url, '/narrow/x')))).map((response) => response.status);
    expect(statuses.sort()).toEqual([200, 200, 503]);
  });
});
