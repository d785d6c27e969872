/** The health plane end to end: real origins, the real runtime under `wrangler dev`, the alarm doing the probing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN_HEADERS, rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let flaky: TestOrigin;
let steady: TestOrigin;
let flakyHealthy = true;

beforeAll(async () => {
  flaky = await startOrigin(answer('flaky'), {
    onProbe: (req, res) => {
      req.resume();
      res.writeHead(flakyHealthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: flakyHealthy ? 'ok' : 'failing', cpu: 55 }));
    },
  });
  steady = await startOrigin(answer('steady'));
  gateway = await startGateway({
    services: [
      {
        name: 'pair',
        routes: [{ pathPrefix: '/pair' }],
        instances: [{ id: 'flaky', url: flaky.url }, { id: 'steady', url: steady.url }],
        // The shortest interval there is, so the test sees a few rounds of the alarm.
        healthCheck: { intervalSeconds: 5, unhealthyThreshold: 2, healthyThreshold: 1, timeoutMs: 1_000 },
        retries: { attempts: 0 },
      },
    ],
    gateway: { statePlane: { syncIntervalMs: 200, callTimeoutMs: 2_000 } },
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([flaky?.close(), steady?.close()]);
});

/** Polls `condition` every 250 ms until it holds or `timeoutMs` passes. */
async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`condition not met within ${timeoutMs} ms\n${gateway.output().slice(-2000)}`);
}

async function instanceStatus(id: string): Promise<string | undefined> {
  const response = await rawRequest(gateway.url, '/health/services', { headers: E2E_ADMIN_HEADERS });
  const body = response.json<{ services: { instances: { id: string; status: string }[] }[] }>();
  return body.services[0]?.instances.find((instance) => instance.id === id)?.status;
}

describe('active health checks under wrangler dev', () => {
  it('the first request arms the alarm, which probes every instance and re-arms itself', async () => {
    expect((await rawRequest(gateway.url, '/health/live')).status).toBe(200);
    await until(async () => flaky.probes.length >= 2 && steady.probes.length >= 2, 15_000);
    expect(flaky.probes[0]).toMatchObject({ method: 'GET', url: '/api/v1/health' });
    expect(await instanceStatus('flaky')).toBe('healthy');
  }, 30_000);

  it('an instance that starts failing leaves rotation after N probes, and comes back after M passes', async () => {
    flakyHealthy = false;
    await until(async () => (await instanceStatus('flaky')) === 'unhealthy', 20_000);
    // Isolates learn of it on their next sync (started by a request, once per sync interval, in the background):
    // one request to start it, then every request goes to the healthy instance.
    await rawRequest(gateway.url, '/pair/warm-up');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = flaky.requests.length;
    for (let i = 0; i < 8; i++) expect(JSON.parse((await rawRequest(gateway.url, `/pair/${i}`)).body)).toMatchObject({ origin: 'steady' });
    expect(flaky.requests.length).toBe(before);
    const health = await rawRequest(gateway.url, '/health');
    expect(health.json()).toMatchObject({ status: 'degraded', instances: { unhealthy: 1 } });

    flakyHealthy = true;
    await until(async () => (await instanceStatus('flaky')) === 'healthy', 20_000);
    await until(async () => {
      await rawRequest(gateway.url, '/pair/again');
      return flaky.requests.length > before;
    }, 5_000);
    const history = await rawRequest(gateway.url, '/health/history?instance=flaky&limit=200', { headers: E2E_ADMIN_HEADERS });
    const transitions = history.json<{ entries: { kind: string; to: string }[] }>().entries.filter((entry) => entry.kind === 'transition');
    expect(transitions.map((entry) => entry.to).slice(0, 2)).toEqual(['healthy', 'unhealthy']);
  }, 60_000);

  it('public health endpoints answer without credentials and reveal no topology; the detail ones need an admin', async () => {
    const health = await rawRequest(gateway.url, '/health');
    expect(health.body).not.toContain('flaky');
    expect(health.body).not.toContain('127.0.0.1');
    expect((await rawRequest(gateway.url, '/health/ready')).status).toBe(200);
    for (const path of ['/health/services', '/health/history', '/services']) expect((await rawRequest(gateway.url, path)).status).toBe(401);
    expect((await rawRequest(gateway.url, '/health/check', { method: 'POST' })).status).toBe(401);
  });
});
