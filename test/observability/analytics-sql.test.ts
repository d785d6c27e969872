/** `/metrics/json?source=analytics`: Analytics Engine through its SQL API, against a local stand-in. */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { MetricsJson } from '../../src/observability/metrics-json.ts';
import { ADMIN_HEADERS, gatewayFor, problemType } from '../support/gateway.ts';
import { SQL_API_ACCOUNT, SQL_API_TOKEN } from '../support/stand-ins.ts';

const [echo] = inject('echoOrigins');
const sqlApi = inject('sqlApiStandIn');

const config: GatewayConfigInput = {
  services: [
    { name: 'history', routes: [{ pathPrefix: '/history' }], instances: [{ url: echo! }] },
    { name: 'quiet', routes: [{ pathPrefix: '/quiet' }], instances: [{ url: echo! }] },
  ],
};

describe('/metrics/json from Analytics Engine', () => {
  it('reads per-minute series through the SQL API, counting sampled rows by their sample interval', async () => {
    const send = gatewayFor(config, { CF_ACCOUNT_ID: SQL_API_ACCOUNT, CF_ANALYTICS_TOKEN: SQL_API_TOKEN, ANALYTICS_SQL_API_URL: sqlApi });
    const response = await send('/metrics/json?source=analytics&range=24h', { headers: ADMIN_HEADERS });
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as MetricsJson;
    expect(body).toMatchObject({ source: 'analytics', rangeMinutes: 1_440 });
    const history = body.services.find((s) => s.service === 'history')!;
    expect(history.series).toHaveLength(1_440);
    expect(history.totals).toEqual({ requests: 180, errors: 6, timedRequests: 177, rateLimited: 3, bytesIn: 180_000, bytesOut: 360_000 });
    const busy = history.series.find((point) => point.requests === 120)!;
    // 6 errors of the 117 requests timed (the 3 rate-limited ones are the gateway's refusals), as the live figures.
    expect(busy).toMatchObject({ requestsPerSecond: 2, errorRate: 6 / 117, p50Ms: 20, p95Ms: 60, p99Ms: 100 });
    expect(history.series.at(-1)!.requests).toBe(0);
    expect(body.services.find((s) => s.service === 'quiet')!.totals.requests).toBe(0);
    // Rows of services the configuration does not name are left out.
    expect(body.services.map((s) => s.service)).toEqual(['history', 'quiet']);

    const [query] = ((await (await fetch(`${sqlApi.replace('/client/v4', '')}/__received`)).json()) as { body: string }[]).slice(-1);
    expect(query!.body).toContain("INTERVAL '1440' MINUTE");
    expect(query!.body).toContain('FROM edge_gateway_development');
    // Quantiles and the error rate's denominator leave out the gateway's own 4xx refusals, as the live sums do.
    expect(query!.body).toContain("quantileExactWeighted(0.95)(double2, IF((double1 >= 500 OR blob4 = 'ok'), _sample_interval, 0))");
    expect(query!.body).toContain("SUM(IF((double1 >= 500 OR blob4 = 'ok'), _sample_interval, 0)) AS timed_requests");
  });

  it('answers 503 analytics-unavailable without credentials, or when the API refuses the token', async () => {
    const missing = await gatewayFor(config)('/metrics/json?source=analytics', { headers: ADMIN_HEADERS });
    expect(missing.status).toBe(503);
    expect(await problemType(missing)).toBe('analytics-unavailable');
    const refused = await gatewayFor(config, { CF_ACCOUNT_ID: SQL_API_ACCOUNT, CF_ANALYTICS_TOKEN: 'wrong', ANALYTICS_SQL_API_URL: sqlApi })('/metrics/json?source=analytics', { headers: ADMIN_HEADERS });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { detail: string }).detail).toContain('401');
  });
});
