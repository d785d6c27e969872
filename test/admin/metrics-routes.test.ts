/** /metrics and /metrics/json through the whole gateway in workerd: access, and counts after real requests. */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { MetricsJson } from '../../src/observability/metrics-json.ts';
import { ADMIN_HEADERS, gatewayFor, problemType } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');
const closed = inject('closedOrigin');
const METRICS_TOKEN = 'metrics-scrape-token-0123456789';

const config: GatewayConfigInput = {
  // The trailing flush sends each request's sums before the helper returns: counts are exact at once.
  gateway: { statePlane: { syncIntervalMs: 100, callTimeoutMs: 2_000, trailingFlush: true }, limits: { bodyIdleTimeoutMs: 400 } },
  services: [
    { name: 'metered', routes: [{ pathPrefix: '/metered' }], instances: [{ id: 'echo', url: echo! }] },
    { name: 'uploads', routes: [{ pathPrefix: '/uploads' }], instances: [{ id: 'echo', url: echo! }] },
    { name: 'broken', routes: [{ pathPrefix: '/broken' }], instances: [{ id: 'nowhere', url: closed }], timeouts: { requestMs: 1_000 } },
    // Never sent traffic: only its active health check (one failure makes it unhealthy) says it is down.
    { name: 'probed', routes: [{ pathPrefix: '/probed' }], instances: [{ id: 'dark', url: closed }], healthCheck: { unhealthyThreshold: 1, timeoutMs: 1_000 } },
  ],
};
const send = gatewayFor(config, { METRICS_TOKEN });
const scraper = { authorization: `Bearer ${METRICS_TOKEN}` };

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics endpoints', () => {
  it('shows an instance failing its active health checks as unhealthy (regression: only ejection and the breaker counted)', async () => {
    const check = await send('/health/check', { method: 'POST', headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'probed' }) });
    expect(check.status).toBe(200);
    const { services } = (await check.json()) as { services: { name: string; results: { ok: boolean }[] }[] };
    expect(services.map((service) => service.name)).toEqual(['probed']);
    expect(services[0]!.results[0]!.ok).toBe(false);
    const text = await (await send('/metrics', { headers: scraper })).text();
    expect(sample(text, 'service_health_status', 'service="probed",instance="dark"')).toBe(0);
    const json = (await (await send('/metrics/json', { headers: scraper })).json()) as MetricsJson;
    expect(json.services.find((s) => s.service === 'probed')!.instances).toEqual([{ id: 'dark', ejected: false, inFlight: 0, healthy: false }]);
  });

  it('answers 401 without credentials and 401 with a wrong token, on every metrics path', async () => {
    for (const path of ['/metrics', '/metrics/json', '/health/metrics', '/health/metrics/json']) {
      const anonymous = await send(path);
      expect(anonymous.status).toBe(401);
      expect(await problemType(anonymous)).toBe('unauthorized');
      expect((await send(path, { headers: { authorization: 'Bearer not-the-metrics-token-at-all' } })).status).toBe(401);
    }
  });

  it('answers 200 with the METRICS_TOKEN bearer token, and with admin credentials', async () => {
    const scraped = await send('/metrics', { headers: scraper });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect((await send('/metrics', { headers: ADMIN_HEADERS })).status).toBe(200);
  });

  it('counts the requests sent per service, method and status, and the histogram agrees', async () => {
    for (let i = 0; i < 6; i++) expect((await send('/metered/a')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await send('/metered/b', { method: 'POST', body: 'xyz', headers: { 'content-length': '3' } })).status).toBe(200);
    expect((await send('/broken/x')).status).toBe(502);
    const text = await (await send('/metrics', { headers: scraper })).text();
    expect(sample(text, 'gateway_requests_total', 'method="GET",service="metered",status="200"')).toBe(6);
    expect(sample(text, 'gateway_requests_total', 'method="POST",service="metered",status="200"')).toBe(2);
    expect(sample(text, 'gateway_requests_total', 'method="GET",service="broken",status="502"')).toBe(1);
    expect(sample(text, 'gateway_request_duration_seconds_count', 'service="metered"')).toBe(8);
    expect(sample(text, 'gateway_request_duration_seconds_bucket', 'service="metered",le="+Inf"')).toBe(8);
    expect(sample(text, 'service_response_time_seconds_count', 'service="metered"')).toBe(8);
    expect(sample(text, 'gateway_request_outcomes_total', 'service="broken",outcome="upstream-error"')).toBe(1);
    expect(sample(text, 'gateway_request_bytes_total', 'service="metered",direction="in"')).toBe(6);
    expect(sample(text, 'service_health_status', 'service="metered",instance="echo"')).toBe(1);
    expect(sample(text, 'gateway_build_info', 'version="0.1.0"')).toBe(1);
    // Every family is introduced by HELP and TYPE.
    const families = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!.replace(/_(bucket|sum|count)$/, '')));
    for (const family of families) {
      expect(text).toContain(`# HELP ${family} `);
      expect(text).toContain(`# TYPE ${family} `);
    }
    // The metrics endpoints themselves are not counted as traffic.
    expect(text).not.toContain('service="metrics"');
  });

  it('counts a request refused for the client\'s fault but leaves it out of the latency figures (regression: a stalled upload made the origin look slow)', async () => {
    for (let i = 0; i < 3; i++) expect((await send('/uploads/fast')).status).toBe(200);
    // One chunk, then nothing: the gateway waits bodyIdleTimeoutMs for the rest, then answers 408.
    const stalled = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new Uint8Array(10).fill(120)) });
    const refused = await send('/uploads/slow', { method: 'POST', body: stalled });
    expect(refused.status).toBe(408);
    const text = await (await send('/metrics', { headers: scraper })).text();
    expect(sample(text, 'gateway_requests_total', 'method="POST",service="uploads",status="408"')).toBe(1);
    expect(sample(text, 'gateway_request_outcomes_total', 'service="uploads",outcome="rejected"')).toBe(1);
    expect(sample(text, 'gateway_request_duration_seconds_count', 'service="uploads"')).toBe(3);
    expect(sample(text, 'service_response_time_seconds_count', 'service="uploads"')).toBe(3);
    expect(sample(text, 'gateway_request_duration_seconds_sum', 'service="uploads"')).toBeLessThan(0.4);
    const json = (await (await send('/metrics/json?range=5', { headers: scraper })).json()) as MetricsJson;
    const uploads = json.services.find((s) => s.service === 'uploads')!;
    expect(uploads.totals.requests).toBe(4);
    for (const point of uploads.series.filter((p) => p.requests > 0)) expect(point.p99Ms!).toBeLessThan(400);
  });

  it('serves per-minute series at /metrics/json after real traffic', async () => {
    const minuteOf = (ms: number) => ms - (ms % 60_000);
    const firstMinute = minuteOf(Date.now());
    for (let i = 0; i < 3; i++) await send('/metered/json');
    const lastMinute = minuteOf(Date.now());
    const response = await send('/health/metrics/json?range=5', { headers: scraper });
    expect(response.status).toBe(200);
    const body = (await response.json()) as MetricsJson;
    expect(body.source).toBe('live');
    expect(body.rangeMinutes).toBe(5);
    const metered = body.services.find((s) => s.service === 'metered')!;
    expect(metered.series).toHaveLength(5);
    expect(metered.totals.requests).toBeGreaterThanOrEqual(3);
    // The requests may straddle a minute boundary (CI once crossed one between sending and reading), so the
    // minutes they were sent in are summed rather than the last point read alone.
    const sentIn = metered.series.filter((point) => point.at >= firstMinute && point.at <= lastMinute);
    expect(sentIn.reduce((sum, point) => sum + point.requests, 0)).toBeGreaterThanOrEqual(3);
    expect(metered.series.reduce((sum, point) => sum + point.requests, 0)).toBe(metered.totals.requests);
    for (const point of metered.series.filter((p) => p.requests > 0)) {
      expect(point.requestsPerSecond).toBeCloseTo(point.requests / 60);
      expect(point.p50Ms).not.toBeNull();
    }
    expect(metered.breaker).toBe('disabled');
    expect(metered.instances).toEqual([{ id: 'echo', ejected: false, inFlight: 0, healthy: true }]);
    const broken = body.services.find((s) => s.service === 'broken')!;
    expect(broken.totals.errors).toBe(broken.totals.requests);
  });

  it('refuses a range it cannot answer with a problem naming the field', async () => {
    const response = await send('/metrics/json?range=9999', { headers: scraper });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('range');
  });
});
