/**
 * The dashboard's figures in a real browser after real traffic through the real gateway: requests with errors, a
 * rate-limited burst, an unhealthy instance and a fired alert. The page must show what `/metrics/json`,
 * `/health/services` and `/alerts/alerts` say, and acknowledging an alert in the page must change it in the API.
 * Saves the README's screenshots (docs/images/dashboard-desktop.png, dashboard-phone.png).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo-origins.ts';
import type { MetricsJson } from '../../src/observability/metrics-json.ts';
import { formatCount, formatPercent } from '../../public/dashboard/chart-data.js';
import type { Alert, ServiceHealth } from '../../public/dashboard/chart-data.js';
import { E2E_ADMIN_HEADERS, E2E_ADMIN_TOKEN, rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { launchChromium, SCREENSHOTS, signIn } from './browser.ts';

/**
 * The instance that breaks: its traffic answers 500 from the start, its health check passes until `failProbes()`
 * (so the test's traffic reaches it before the checks take it out of rotation, as when an instance degrades).
 */
async function startFailingOrigin(): Promise<{ url: string; server: Server; failProbes: () => void }> {
  let probesFail = false;
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === '/api/v1/health' && !probesFail) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"broken on purpose"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, failProbes: () => (probesFail = true) };
}

const healthy: EchoOrigin = await startEchoOrigin({ service: 'orders', instance: 'orders-1' });
const limitedOrigin: EchoOrigin = await startEchoOrigin({ service: 'quotes', instance: 'quotes-1' });
const failing = await startFailingOrigin();
const gateway: RunningGateway = await startGateway({
  // Rules every 10 s (the shortest allowed) so the alert fires within the test; only this file's rule.
  gateway: { alerting: { evaluationIntervalSeconds: 10, defaultRules: false } },
  services: [
    {
      name: 'orders',
      routes: [{ pathPrefix: '/orders' }],
      instances: [
        { id: 'orders-1', url: healthy.url },
        { id: 'orders-2', url: failing.url },
      ],
      loadBalancing: { strategy: 'round_robin' },
      retries: { attempts: 0 },
      healthCheck: { path: '/api/v1/health', intervalSeconds: 5, unhealthyThreshold: 1 },
    },
    {
      name: 'quotes',
      routes: [{ pathPrefix: '/quotes' }],
      instances: [{ id: 'quotes-1', url: limitedOrigin.url }],
      policies: { rateLimit: { limit: 5, windowSeconds: 60, burst: 5 } },
    },
  ],
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all([healthy.close(), limitedOrigin.close(), new Promise((resolve) => failing.server.close(resolve))]);
});

const api = async <T,>(path: string, method = 'GET'): Promise<T> => {
  const response = await rawRequest(gateway.url, path, { method, headers: E2E_ADMIN_HEADERS });
  expect(response.status, `${method} ${path}: ${response.body}`).toBe(200);
  return response.json<T>();
};

/** Polls `read` until `done` holds, at most `timeoutMs`; the last value otherwise (the caller's expect then fails). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    value = await read();
  }
  return value;
}

describe("the dashboard's figures after real traffic", () => {
  it('shows the traffic, errors, rate limiting, unhealthy instance and alert the endpoints report, and acknowledges through the page', { timeout: 180_000 }, async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page: Page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();

      // Before any traffic: the page says so rather than drawing zeros.
      await page.goto(`${gateway.url}/dashboard/`);
      await signIn(page, E2E_ADMIN_TOKEN);
      expect(await page.textContent('[data-figure="traffic"]')).toContain('no traffic yet');

      // An alert rule on the error rate, through the alerts API (body: AlertRuleSchema in src/alerting/rules.ts).
      const ALERT_RULE = { name: 'orders-errors', service: 'orders', metric: 'error_rate', comparator: '>', threshold: 0.1, windowSeconds: 60, minRequests: 20, severity: 'critical' };
      const created = await rawRequest(gateway.url, '/alerts/alert-rules', { method: 'POST', headers: { ...E2E_ADMIN_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(ALERT_RULE) });
      expect(created.status, `POST /alerts/alert-rules: ${created.body}`).toBe(201);

      // Real traffic: orders alternates between a good and a broken instance (errors); quotes gets a burst past its limit.
      const statuses: Record<string, number[]> = { orders: [], quotes: [] };
      for (let i = 0; i < 40; i++) statuses.orders!.push((await rawRequest(gateway.url, `/orders/${i}`)).status);
      statuses.quotes = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await rawRequest(gateway.url, `/quotes/${i}`)).status));
      expect(statuses.orders).toContain(500);
      expect(statuses.quotes).toContain(429);
      failing.failProbes();

      // Wait for the planes to have seen it all: sums synced, the broken instance probed, the alert fired.
      const metrics = await until(
        () => api<MetricsJson>('/metrics/json?range=15m'),
        (m) => (m.services.find((s) => s.service === 'orders')?.totals.requests ?? 0) >= 40 && (m.services.find((s) => s.service === 'quotes')?.totals.rateLimited ?? 0) >= 1,
        60_000,
      );
      const orders = metrics.services.find((s) => s.service === 'orders')!;
      expect(orders.totals.requests).toBeGreaterThanOrEqual(40);
      expect(orders.totals.errors).toBeGreaterThanOrEqual(1);
      const health = await until(
        () => api<{ services: ServiceHealth[] }>('/health/services'),
        (h) => h.services.find((s) => s.name === 'orders')?.instances.find((i) => i.id === 'orders-2')?.status === 'unhealthy',
        60_000,
      );
      expect(health.services.find((s) => s.name === 'orders')?.instances.find((i) => i.id === 'orders-2')?.status).toBe('unhealthy');
      const fired = await until(() => api<{ alerts: Alert[] }>('/alerts/alerts?status=active'), (a) => a.alerts.some((alert) => alert.rule === 'orders-errors'), 90_000);
      const alert = fired.alerts.find((a) => a.rule === 'orders-errors');
      expect(alert, 'an alert fired for orders').toBeDefined();

      // The page, after its next refresh, shows the same figures as the API at that moment.
      await page.click('#refresh-now');
      await expect
        .poll(async () => {
          const now = await api<MetricsJson>('/metrics/json?range=15m');
          const service = (name: string) => now.services.find((s) => s.service === name)!;
          const requests = now.services.reduce((sum, s) => sum + s.totals.requests, 0);
          const errors = now.services.reduce((sum, s) => sum + s.totals.errors, 0);
          // The quotes burst's 429s are the gateway's refusals: not in the error rate's denominator.
          const timed = now.services.reduce((sum, s) => sum + s.totals.timedRequests, 0);
          const rateLimited = now.services.reduce((sum, s) => sum + s.totals.rateLimited, 0);
          return [
            (await page.textContent('[data-figure="requests"] .tile-value')) === formatCount(requests),
            (await page.textContent('[data-figure="error-rate"] .tile-value')) === formatPercent(errors / timed),
            (await page.textContent('[data-figure="rate-limited"] .tile-value')) === formatCount(rateLimited),
            (await page.textContent('[data-service="orders"] [data-field="requests"]')) === `${formatCount(service('orders').totals.requests)} requests`,
            (await page.textContent('[data-service="quotes"] [data-field="rate-limited"]')) === `${formatCount(service('quotes').totals.rateLimited)} rate limited`,
          ];
        }, { timeout: 30_000, interval: 1_000 })
        .toEqual([true, true, true, true, true]);
      expect(await page.textContent('[data-service="orders"] [data-instance="orders-2"]')).toContain('unhealthy');
      expect(await page.locator('[data-service="orders"] .charts canvas').count()).toBeGreaterThanOrEqual(3);
      const row = page.locator(`tr[data-alert="${alert!.id}"]`);
      expect(await row.textContent()).toContain(alert!.severity);

      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-desktop.png'), fullPage: true });

      // Acknowledge through the page; the API agrees.
      await row.getByRole('button', { name: /^Acknowledge/ }).click();
      await expect.poll(() => page.getAttribute(`tr[data-alert="${alert!.id}"]`, 'data-status'), { timeout: 15_000 }).toBe('acknowledged');
      const acknowledged = await api<{ alerts: Alert[] }>('/alerts/alerts?status=acknowledged');
      expect(acknowledged.alerts.find((a) => a.id === alert!.id)?.status).toBe('acknowledged');

      await page.setViewportSize({ width: 390, height: 844 });
      // The charts follow the new width after the page's resize handler (debounced); then nothing overflows.
      await expect.poll(() => page.evaluate<number>('document.documentElement.scrollWidth'), { timeout: 5_000 }).toBeLessThanOrEqual(390);
      // Each alert and instance row is stacked on a phone: every column and the buttons in view, no sideways scroll.
      for (const table of await page.locator('table.stack-narrow').all()) expect(await table.evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true);
      const resolveButton = await page.getByRole('button', { name: /^Resolve/ }).first().boundingBox();
      expect(resolveButton!.x + resolveButton!.width).toBeLessThanOrEqual(390);
      expect(await page.textContent('[data-figure="alerts"] .tile-detail')).toContain('1 acknowledged');
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png'), fullPage: true });
    } finally {
      await browser?.close();
    }
  });
});
