/**
 * Fault test (issue #14, 5): every Durable Object reset during traffic. From a Node-side test the runtime offers no
 * way to evict one object of a running `wrangler dev` (the vitest plugin's `evictDurableObject` exists only inside
 * workerd), so the test restarts `wrangler dev` on the same `--persist-to` directory while clients keep sending: every
 * object (registry, service state, rate-limit bucket, alert manager) and every isolate starts again from storage, as
 * after a deploy or a runtime update. What was acknowledged before must still be there after; every HTTP answer
 * must be one the policies allow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { E2E_ADMIN_HEADERS, rawRequest, startGateway, type RawResponse, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

/** Ten requests an hour with a burst of ten: over the test, at most ten are ever admitted, whatever restarts. */
const LIMIT = 10;
const persist = mkdtempSync(join(tmpdir(), 'gateway-faults-reset-'));
let gateway: RunningGateway;
let limited: TestOrigin;
let first: TestOrigin;
let second: TestOrigin;
let hook: TestOrigin;
let broken: TestOrigin;
let config: GatewayConfigInput;
const hookBodies: string[] = [];
/** While true the webhook receiver takes deliveries and never answers them (held), so one is in flight at the reset. */
let holdDeliveries = false;
const heldDeliveries: ServerResponse[] = [];
/** Alert ids of the deliveries the receiver answered 200. */
const answeredDeliveries: string[] = [];

beforeAll(async () => {
  [limited, first, second, broken] = await Promise.all([startOrigin(answer('limited')), startOrigin(answer('first')), startOrigin(answer('second')), startOrigin(answer('broken', 500))]);
  hook = await startOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      hookBodies.push(body);
      if (holdDeliveries) return heldDeliveries.push(res);
      answeredDeliveries.push((JSON.parse(body) as { alert: { id: string } }).alert.id);
      res.writeHead(200).end();
    });
  });
  config = {
    gateway: {
      statePlane: { syncIntervalMs: 200, callTimeoutMs: 2_000 },
      controlPlane: { allowPrivateOriginAddresses: true, pollIntervalMs: 500 },
      alerting: { defaultRules: false, retryBaseDelaySeconds: 0, channels: [{ name: 'hook', type: 'webhook', url: `${hook.url}/alerts` }] },
    },
    services: [
      {
        name: 'limited',
        routes: [{ pathPrefix: '/limited' }],
        instances: [{ id: 'limited-1', url: limited.url }],
        // Fails closed: when the bucket cannot be had, 503 rate-limit-unavailable, never an admission over the limit.
        policies: { rateLimit: { limit: LIMIT, windowSeconds: 3_600, burst: LIMIT, maxLease: 2, failOpen: false } },
      },
      {
        // Its breaker is opened before the reset, for ten minutes: it must still be open after.
        name: 'fragile',
        routes: [{ pathPrefix: '/fragile' }],
        instances: [{ id: 'broken', url: broken.url }],
        retries: { attempts: 0 },
        policies: { circuitBreaker: { minimumCalls: 3, failureRateThreshold: 0.5, openSeconds: 600 } },
      },
      { name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ id: 'first', url: first.url }], loadBalancing: { strategy: 'round_robin' } },
    ],
  };
  gateway = await startGateway(config, {}, { persistTo: persist });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([limited, first, second, hook, broken].map((origin) => origin?.close()));
  rmSync(persist, { recursive: true, force: true });
});

async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    value = await read();
  }
  return value;
}

async function breakerState(service: string): Promise<string | undefined> {
  const response = await rawRequest(gateway.url, '/gateway/circuit-breakers', { headers: E2E_ADMIN_HEADERS });
  return response.json<{ services: { service: string; breaker: { state: string } | null }[] }>().services.find((entry) => entry.service === service)?.breaker?.state;
}

const problemType = (response: RawResponse) => (response.headers['content-type']?.startsWith('application/problem+json') ? response.json<{ type: string }>().type : undefined);

describe('a Durable Object reset during traffic', () => {
  it('loses no registry write, no admission over the rate limit, no open breaker, no stored alert; every answer is one the policies allow', async () => {
    // Clients that keep sending through the restart. A refused connection (the runtime is down) is not an answer.
    const answers: { path: string; status: number; type: string | undefined; afterRestart: boolean }[] = [];
    let connectionErrors = 0;
    let restarted = false;
    let stop = false;
    const client = async (path: string) => {
      while (!stop) {
        try {
          const response = await rawRequest(gateway.url, path);
          answers.push({ path, status: response.status, type: problemType(response), afterRestart: restarted });
        } catch {
          connectionErrors++;
          await new Promise((resolve) => setTimeout(resolve, 50)); // pace retries while nothing listens
        }
      }
    };
    const clients = [client('/limited/x'), client('/samples/x'), client('/samples/y')];

    // Acknowledged writes before the reset: a registered instance and an alert (to be delivered to the webhook).
    const registered = await rawRequest(gateway.url, '/gateway/services/register', {
      method: 'POST',
      headers: { ...E2E_ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'samples', url: second.url, id: 'second' }),
    });
    expect(registered.status).toBe(201);
    holdDeliveries = true;
    const sent = await rawRequest(gateway.url, '/alerts/test-alert', {
      method: 'POST',
      headers: { ...E2E_ADMIN_HEADERS, 'content-type': 'application/json' },
      body: JSON.stringify({ severity: 'info', channels: ['hook'] }),
    });
    expect(sent.status).toBe(202);
    const alertId = sent.json<{ alert: { id: string } }>().alert.id;
    await until(async () => answers.filter((entry) => entry.path === '/limited/x').length, (count) => count > LIMIT);
    // An open breaker before the reset (isolates report outcomes per sync: keep failing requests coming until it opens).
    const breakerOpened = await until(
      async () => {
        await rawRequest(gateway.url, '/fragile/x');
        return breakerState('fragile');
      },
      (state) => state === 'open',
    );
    expect(breakerOpened).toBe('open');
    // The alert's first delivery reached the receiver, which holds it unanswered: the reset cuts it off.
    expect(await until(async () => hookBodies.filter((body) => body.includes(alertId)).length, (count) => count > 0)).toBe(1);

    // The reset: every object and isolate goes; storage stays.
    await gateway.stop();
    holdDeliveries = false;
    for (const res of heldDeliveries.splice(0)) res.destroy();
    gateway = await startGateway(config, {}, { persistTo: persist });
    restarted = true;
    // The breaker is read from storage: still open, and requests get 503 circuit-open without reaching the origin.
    // Until the new isolate's first sync its breaker state is unknown and follows failOpen (true, the default):
    // those requests may reach the origin; count them.
    expect(await breakerState('fragile')).toBe('open');
    const brokenBefore = broken.requests.length;
    const fragileAfter: number[] = [];
    const openAgain = await until(
      async () => {
        const response = await rawRequest(gateway.url, '/fragile/x');
        fragileAfter.push(response.status);
        return problemType(response);
      },
      (type) => type === 'urn:edge-gateway:problem:circuit-open',
      10_000,
    );
    expect(openAgain).toBe('urn:edge-gateway:problem:circuit-open');
    const leakedToBroken = broken.requests.length - brokenBefore;
    expect(leakedToBroken).toBeLessThanOrEqual(fragileAfter.length);
    await until(async () => answers.filter((entry) => entry.afterRestart).length, (count) => count >= 60);

    // The registry write survived, and traffic reaches the registered instance again.
    const services = (await rawRequest(gateway.url, '/gateway/services', { headers: E2E_ADMIN_HEADERS })).json<{ services: { name: string; instances: { id: string }[] }[] }>();
    expect(services.services.find((service) => service.name === 'samples')!.instances.map((instance) => instance.id).sort()).toEqual(['first', 'second']);
    const secondBefore = second.requests.length;
    await until(async () => second.requests.length, (count) => count > secondBefore);
    stop = true;
    await Promise.all(clients);

    // The alert is stored. Its delivery that the local queue dropped at the restart is not made again (see below). The record
    // claims no delivery the receiver did not answer.
    const alert = await rawRequest(gateway.url, `/alerts/alerts/${alertId}`, { headers: E2E_ADMIN_HEADERS });
    expect(alert.status).toBe(200);
    const recorded = alert.json<{ rule: string; deliveries: { ok: boolean }[] }>();
    expect(recorded.rule).toBe('test-alert');
    expect(recorded.deliveries.filter((delivery) => delivery.ok).length).toBe(answeredDeliveries.filter((id) => id === alertId).length);

    // Every answer is one the policies allow: the registry and service state reset cost the samples no request,
    // and the rate limit answered 200, 429 or (failing closed) 503 rate-limit-unavailable.
    const samples = answers.filter((entry) => entry.path !== '/limited/x');
    expect(samples.filter((entry) => entry.status !== 200)).toEqual([]);
    const limitedAnswers = answers.filter((entry) => entry.path === '/limited/x');
    const allowed = (entry: (typeof answers)[number]) =>
      entry.status === 200 || (entry.status === 429 && entry.type === 'urn:edge-gateway:problem:rate-limited') || (entry.status === 503 && entry.type === 'urn:edge-gateway:problem:rate-limit-unavailable');
    expect(limitedAnswers.filter((entry) => !allowed(entry))).toEqual([]);
    // The invariant: never more admitted than the bucket holds (tokens leased before the reset may be lost, not
    // spent twice), and the origin saw exactly the admitted ones.
    const admitted = limitedAnswers.filter((entry) => entry.status === 200).length;
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT - 2);
    expect(limited.requests.length).toBe(admitted);
    expect(limitedAnswers.filter((entry) => entry.afterRestart).length).toBeGreaterThan(10);
    console.info(`[faults] reset: alert deliveries received ${hookBodies.filter((body) => body.includes(alertId)).length}; fragile after the restart ${JSON.stringify(fragileAfter)}, ${leakedToBroken} reached the origin; ${answers.length} answers (${answers.filter((entry) => entry.afterRestart).length} after the restart), ${connectionErrors} refused connections while down, limited admitted ${admitted}, statuses ${JSON.stringify(countBy(answers.map((entry) => `${entry.path} ${entry.status}`)))}`);
  }, 120_000);

  // Found by this test: a notification in the delivery queue when the runtime restarts is never delivered. Locally
  // that is miniflare's queue broker, which holds messages in memory (a local-only limit: Cloudflare's queues keep and
  // redeliver unacknowledged messages). The production half of it, a reset between storing an alert's transition and
  // queueing its notifications, is closed by the AlertManager's outbox (written with the transition, re-sent by the
  // next alarm): test/durable-objects/alert-manager.test.ts.
});

function countBy(values: string[]): Record<string, number> {
  return values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {});
}
