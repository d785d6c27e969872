/** The Analytics Engine data point of a request, as the runtime's binding receives it (docs/analytics.md). */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import type { Env } from '../../src/env.ts';
import { send } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');

const config: GatewayConfigInput = {
  services: [{ name: 'analysed', routes: [{ id: 'analysed-api', pathPrefix: '/analysed' }], instances: [{ id: 'echo-1', url: echo! }] }],
};

/** Stands in for the binding (a no-op locally) and keeps what the gateway writes. */
function capturingDataset(): AnalyticsEngineDataset & { points: AnalyticsEngineDataPoint[] } {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point!) };
}

describe('Analytics Engine data point', () => {
  it('writes one point per request with the documented field layout, and no path or query', async () => {
    const dataset = capturingDataset();
    const response = await send(config, '/analysed/orders/42?token=secret-value', { method: 'POST', body: 'hello', headers: { 'content-length': '5' } }, { REQUEST_ANALYTICS: dataset } as Partial<Env>);
    expect(response.status).toBe(200);
    expect(dataset.points).toHaveLength(1);
    const [point] = dataset.points;
    expect(point!.indexes).toEqual(['analysed']);
    expect(point!.blobs).toEqual(['analysed', 'analysed-api', 'POST', 'ok', 'echo-1', 'local', '2xx', 'request.v1']);
    const [status, latency, upstream, bytesIn, bytesOut, attempts] = point!.doubles!;
    expect(status).toBe(200);
    expect(latency).toBeGreaterThanOrEqual(upstream!);
    expect(upstream).toBeGreaterThanOrEqual(0);
    expect(bytesIn).toBe(5);
    expect(bytesOut).toBe(Number(response.headers.get('content-length') ?? 0));
    expect(attempts).toBe(1);
    expect(JSON.stringify(point)).not.toMatch(/orders|secret-value/);
  });

  it('labels a refusal by the problem the gateway rendered', async () => {
    const dataset = capturingDataset();
    const limited: GatewayConfigInput = { services: [{ ...config.services[0]!, policies: { rateLimit: { limit: 1, windowSeconds: 3_600 } } }] };
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await send(limited, '/analysed/x', {}, { REQUEST_ANALYTICS: dataset } as Partial<Env>)).status);
    expect(statuses).toEqual([200, 429]);
    expect(dataset.points.map((p) => [p.blobs![3], p.blobs![4], p.doubles![5]])).toEqual([
      ['ok', 'echo-1', 1],
      ['rate-limited', '-', 0],
    ]);
  });
});
