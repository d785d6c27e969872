/**
 * Traffic-based alert rules end to end (error_rate, latency_p95_ms) on real traffic: the evaluator reads the read
 * plane's `ServiceState.windowSummary` (global per-minute sums), fires, notifies a real webhook through the queue,
 * and resolves once the traffic is good again; no summary was ever unavailable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN_HEADERS, rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let origin: TestOrigin;
let hook: TestOrigin;
let failEvery = 0; // 0: never; n: every n-th request answers 500
let delayMs = 0;
let served = 0;
const received: { kind: string; alert: { rule: string; value: number } }[] = [];

describe('alerts on real traffic', () => {
  beforeAll(async () => {
    origin = await startOrigin((req, res) => {
      req.resume();
      served += 1;
      const status = failEvery > 0 && served % failEvery === 0 ? 500 : 200;
      setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end('{}'), delayMs);
    });
    hook = await startOrigin((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200).end();
      });
    });
    // Each rule watches its own service, so one test's traffic never dilutes the other's window (a fast gateway
    // sends thousands of quick requests while the error-rate test waits to resolve).
    const rule = (name: string, metric: string, threshold: number, service: string) => ({ name, metric, threshold, service, windowSeconds: 60, minRequests: 20, cooldownSeconds: 0, channels: ['hook'] });
    gateway = await startGateway({
      gateway: {
        controlPlane: { allowPrivateOriginAddresses: true },
        statePlane: { syncIntervalMs: 200, callTimeoutMs: 2_000 },
        alerting: {
          evaluationIntervalSeconds: 10,
          defaultRules: false,
          channels: [{ name: 'hook', type: 'webhook', url: `${hook.url}/alerts` }],
          rules: [rule('high-error-rate', 'error_rate', 0.05, 'errors'), rule('slow-responses', 'latency_p95_ms', 300, 'latency')],
        },
      },
      services: [
        { name: 'errors', routes: [{ pathPrefix: '/errors' }], instances: [{ url: origin.url }], retries: { attempts: 0 } },
        { name: 'latency', routes: [{ pathPrefix: '/latency' }], instances: [{ url: origin.url }], retries: { attempts: 0 } },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([origin?.close(), hook?.close()]);
  });

  async function until(condition: () => boolean, timeoutMs: number, traffic: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !condition()) await traffic();
    expect(condition()).toBe(true);
  }
  const find = (rule: string, kind: string) => received.find((payload) => payload.alert.rule === rule && payload.kind === kind);
  const sendTo = (service: string) => () => rawRequest(gateway.url, `/${service}/x`);

  it('fires high-error-rate on 10 % errors over enough requests, and resolves when errors stop', async () => {
    failEvery = 10;
    await until(() => find('high-error-rate', 'fired') !== undefined, 60_000, sendTo('errors'));
    expect(find('high-error-rate', 'fired')!.alert.value).toBeGreaterThan(0.05);
    failEvery = 0;
    await until(() => find('high-error-rate', 'resolved') !== undefined, 120_000, sendTo('errors'));
  }, 200_000);

  it('fires slow-responses when p95 passes 300 ms, and resolves when responses are fast again', async () => {
    delayMs = 400;
    await until(() => find('slow-responses', 'fired') !== undefined, 60_000, sendTo('latency'));
    delayMs = 0;
    await until(() => find('slow-responses', 'resolved') !== undefined, 120_000, sendTo('latency'));
    const stats = await rawRequest(gateway.url, '/alerts/statistics', { headers: E2E_ADMIN_HEADERS });
    expect(stats.json<{ evaluation: { summariesUnavailable: number } }>().evaluation.summariesUnavailable).toBe(0);
  }, 200_000);
});
