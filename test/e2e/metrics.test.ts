/**
 * The read plane end to end: real origins, the real gateway under `wrangler dev`, real HTTP. `/metrics` must count
 * exactly what was sent, and `promtool check metrics` must accept its output.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsJson } from '../../src/observability/metrics-json.ts';
import { E2E_ADMIN_HEADERS, eventually, rawRequest, ROOT, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

const METRICS_TOKEN = 'e2e-metrics-token-0123456789abcdef';
const scraper = { authorization: `Bearer ${METRICS_TOKEN}` };

let gateway: RunningGateway;
let alpha: TestOrigin;
let beta: TestOrigin;

beforeAll(async () => {
  [alpha, beta] = await Promise.all([startOrigin(answer('alpha')), startOrigin(answer('beta', 500))]);
  gateway = await startGateway(
    {
      gateway: { statePlane: { syncIntervalMs: 200, callTimeoutMs: 2_000 } },
      services: [
        { name: 'alpha', routes: [{ pathPrefix: '/alpha' }], instances: [{ id: 'alpha-1', url: alpha.url }] },
        { name: 'beta', routes: [{ pathPrefix: '/beta' }], instances: [{ id: 'beta-1', url: beta.url }] },
      ],
    },
    { METRICS_TOKEN },
  );
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([alpha, beta].map((origin) => origin?.close()));
});

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('read plane, end to end', () => {
  it('answers 401 to an unauthenticated scrape, 200 with METRICS_TOKEN or admin credentials', async () => {
    expect((await rawRequest(gateway.url, '/metrics')).status).toBe(401);
    expect((await rawRequest(gateway.url, '/metrics', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    expect((await rawRequest(gateway.url, '/metrics', { headers: scraper })).status).toBe(200);
    expect((await rawRequest(gateway.url, '/health/metrics', { headers: E2E_ADMIN_HEADERS })).status).toBe(200);
  });

  it('counts exactly the requests sent, per service and status, with matching histograms; promtool accepts it', async () => {
    for (let i = 0; i < 7; i++) expect((await rawRequest(gateway.url, `/alpha/items/${i}?q=${i}`)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await rawRequest(gateway.url, '/alpha/items', { method: 'POST', body: 'abcd' })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await rawRequest(gateway.url, '/beta/x')).status).toBe(500);
    // Traffic stops here: only the trailing flush can bring the last sums to the objects.
    const text = await eventually(async () => {
      const body = (await rawRequest(gateway.url, '/metrics', { headers: scraper })).body;
      expect(value(body, 'gateway_requests_total{method="GET",service="alpha",status="200"}')).toBe(7);
      expect(value(body, 'gateway_requests_total{method="POST",service="alpha",status="200"}')).toBe(2);
      expect(value(body, 'gateway_requests_total{method="GET",service="beta",status="500"}')).toBe(3);
      return body;
    });
    expect(value(text, 'gateway_request_duration_seconds_count{service="alpha"}')).toBe(9);
    expect(value(text, 'gateway_request_duration_seconds_bucket{service="alpha",le="+Inf"}')).toBe(9);
    expect(value(text, 'service_response_time_seconds_count{service="beta"}')).toBe(3);
    expect(value(text, 'gateway_request_outcomes_total{service="beta",outcome="upstream-error"}')).toBe(3);
    expect(value(text, 'gateway_request_bytes_total{service="alpha",direction="in"}')).toBe(8);
    // Buckets are cumulative: never decreasing.
    const buckets = text.split('\n').filter((l) => l.startsWith('gateway_request_duration_seconds_bucket{service="alpha"')).map((l) => Number(l.split(' ')[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    // No path or query made it into a label.
    expect(text).not.toMatch(/items|q=/);

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error && (promtool.error as NodeJS.ErrnoException).code === 'ENOENT') {
      console.warn('SKIPPED: promtool is not installed (Debian package "prometheus"); the exposition was not checked by it');
      return;
    }
    expect(promtool.stderr + promtool.stdout).toBe('');
    expect(promtool.status).toBe(0);
  });

  it('serves per-minute series at /metrics/json after that traffic', async () => {
    const body = (await rawRequest(gateway.url, '/metrics/json?range=10', { headers: scraper })).json<MetricsJson>();
    expect(body).toMatchObject({ source: 'live', rangeMinutes: 10 });
    const alphaSeries = body.services.find((s) => s.service === 'alpha')!;
    expect(alphaSeries.series).toHaveLength(10);
    expect(alphaSeries.totals).toMatchObject({ requests: 9, errors: 0, bytesIn: 8 });
    const beta = body.services.find((s) => s.service === 'beta')!;
    expect(beta.totals).toMatchObject({ requests: 3, errors: 3 });
    const minutes = beta.series.filter((point) => point.requests > 0);
    expect(minutes.reduce((sum, point) => sum + point.requests, 0)).toBe(3);
    expect(minutes.every((point) => point.errorRate === 1 && point.p99Ms !== null)).toBe(true);
  });

  it('wrangler deploy --dry-run accepts the observability and Analytics Engine settings', () => {
    const result = spawnSync(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', join(ROOT, '.wrangler/dry-run'), '--env', ''], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    });
    const output = result.stdout + result.stderr;
    expect(result.status, output).toBe(0);
    expect(output).toContain('env.REQUEST_ANALYTICS (edge_gateway_development)');
    expect(output).not.toMatch(/Unexpected fields|WARNING/i);
  }, 120_000);
});
