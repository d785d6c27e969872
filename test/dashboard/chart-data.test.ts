/** The dashboard's data shaping (public/dashboard/chart-data.js): what the charts and the fleet summary show. */
import { describe, expect, it } from 'vitest';
import type { MetricsJson, MinutePoint, ServiceMetrics } from '../../src/observability/metrics-json.ts';
import {
  describeFailure,
  fleetSummary,
  formatAge,
  formatMs,
  formatPercent,
  formatRate,
  hasTraffic,
  joinServices,
  sortAlerts,
  toChartColumns,
  type Alert,
  type ServiceHealth,
} from '../../public/dashboard/chart-data.js';

const T0 = Date.UTC(2026, 11, 1, 12, 0);

function minute(index: number, requests: number, errors = 0, p = [10, 20, 30], timedRequests = requests): MinutePoint {
  return {
    at: T0 + index * 60_000,
    requests,
    requestsPerSecond: requests / 60,
    errorRate: timedRequests > 0 ? errors / timedRequests : null,
    errors,
    timedRequests,
    rateLimited: 0,
    p50Ms: requests > 0 ? p[0]! : null,
    p95Ms: requests > 0 ? p[1]! : null,
    p99Ms: requests > 0 ? p[2]! : null,
    bytesIn: 0,
    bytesOut: 0,
  };
}

function service(name: string, series: MinutePoint[], rateLimited = 0): ServiceMetrics {
  const requests = series.reduce((sum, point) => sum + point.requests, 0);
  const errors = series.reduce((sum, point) => sum + point.errors, 0);
  const timedRequests = series.reduce((sum, point) => sum + point.timedRequests, 0);
  return { service: name, breaker: 'closed', instances: [], totals: { requests, errors, timedRequests, rateLimited, bytesIn: 0, bytesOut: 0 }, series };
}

const metrics = (services: ServiceMetrics[], rangeMinutes = 15): MetricsJson => ({ generatedAt: T0, source: 'live', rangeMinutes, services });

function alert(id: string, severity: Alert['severity'], firedAt: number, overrides: Partial<Alert> = {}): Alert {
  return { id, rule: 'error-rate', service: 'samples', severity, status: 'active', value: 0.2, threshold: 0.05, message: 'm', firedAt, ...overrides };
}

describe('toChartColumns', () => {
  it('puts minutes on x in epoch seconds and requests per second as they are, zeros of quiet minutes included', () => {
    const columns = toChartColumns([minute(0, 120), minute(1, 0), minute(2, 30)]);
    expect(columns.requests).toEqual([[T0 / 1000, T0 / 1000 + 60, T0 / 1000 + 120], [2, 0, 0.5]]);
  });

  it('leaves a gap (null), not a zero, for the error rate and latency of a minute without requests', () => {
    const columns = toChartColumns([minute(0, 100, 5, [12, 40, 95]), minute(1, 0)]);
    expect(columns.errors[1]).toEqual([5, null]);
    expect(columns.latency.slice(1)).toEqual([[12, null], [40, null], [95, null]]);
  });

  it('keeps a latency the read plane could not estimate as a gap, even in a minute with requests', () => {
    const point = { ...minute(0, 10, 1), p95Ms: null };
    expect(toChartColumns([point]).latency[2]).toEqual([null]);
  });
});

describe('fleetSummary', () => {
  it('sums every service over the range: requests, errors, rate-limited, the average rate and the error ratio', () => {
    const summary = fleetSummary(metrics([service('a', [minute(0, 600, 30)], 7), service('b', [minute(0, 300, 15)], 2)]), null, null);
    expect(summary.traffic).toEqual({ requests: 900, errors: 45, rateLimited: 9, requestsPerSecond: 1, errorRate: 0.05 });
  });

  it('takes the error rate over the timed requests: the gateway\'s own refusals do not dilute it', () => {
    // 1,000 requests, 900 of them refused at the gateway (not timed), 10 of the 100 others failed.
    const summary = fleetSummary(metrics([service('a', [minute(0, 1_000, 10, [10, 20, 30], 100)])]), null, null);
    expect(summary.traffic?.errorRate).toBe(0.1);
  });

  it('has no error rate (null, shown as "no traffic yet") when nothing was requested', () => {
    expect(fleetSummary(metrics([service('a', [minute(0, 0)])]), null, null).traffic?.errorRate).toBeNull();
  });

  it('counts services by health state and active alerts by severity', () => {
    const health: { services: ServiceHealth[] } = {
      services: [
        { name: 'a', status: 'healthy', instances: [] },
        { name: 'b', status: 'down', instances: [] },
        { name: 'c', status: 'degraded', instances: [] },
        { name: 'd', status: 'healthy', instances: [] },
      ],
    };
    const alerts = [alert('1', 'critical', T0), alert('2', 'low', T0), alert('3', 'critical', T0), alert('4', 'high', T0, { status: 'acknowledged' })];
    const summary = fleetSummary(null, health, alerts);
    expect(summary.services).toEqual({ healthy: 2, degraded: 1, down: 1, unknown: 0 });
    expect(summary.alerts).toEqual({ critical: 2, high: 0, medium: 0, low: 1, info: 0 });
  });

  it('says null, not zero, for every part whose endpoint did not answer', () => {
    expect(fleetSummary(null, null, null)).toEqual({ traffic: null, services: null, alerts: null });
  });
});

describe('sortAlerts and joinServices', () => {
  it('lists alerts most severe first, then newest first', () => {
    const sorted = sortAlerts([alert('low', 'low', T0 + 5), alert('old-critical', 'critical', T0), alert('new-critical', 'critical', T0 + 9)]);
    expect(sorted.map((a) => a.id)).toEqual(['new-critical', 'old-critical', 'low']);
  });

  it('joins metrics, health and alerts by service name, keeping services only one endpoint knows', () => {
    const rows = joinServices(
      metrics([service('samples', [minute(0, 1)])]),
      { services: [{ name: 'storage', status: 'down', instances: [] }, { name: 'samples', status: 'healthy', instances: [] }] },
      [alert('1', 'high', T0)],
    );
    expect(rows.map((row) => [row.name, row.metrics !== null, row.health?.status, row.alerts?.length])).toEqual([
      ['samples', true, 'healthy', 1],
      ['storage', false, 'down', 0],
    ]);
  });

  it('tells a service with traffic from one without', () => {
    expect(hasTraffic(service('a', [minute(0, 0), minute(1, 1)]))).toBe(true);
    expect(hasTraffic(service('a', [minute(0, 0)]))).toBe(false);
  });
});

describe('formatting', () => {
  it.each([
    [0, '0'], [0.0333, '0.03'], [12.34, '12.3'], [1234.4, '1,234'],
  ])('formatRate(%s) is %s', (value, text) => expect(formatRate(value)).toBe(text));

  it.each([
    [null, '–'], [0, '0%'], [0.0004, '0.04%'], [0.0512, '5.1%'], [1, '100.0%'],
  ])('formatPercent(%s) is %s', (value, text) => expect(formatPercent(value)).toBe(text));

  it.each([[null, '–'], [3.456, '3.5 ms'], [1234, '1,234 ms']])('formatMs(%s) is %s', (value, text) => expect(formatMs(value)).toBe(text));

  it.each([
    [null, 'never'], [T0, 'just now'], [T0 - 42_000, '42 s ago'], [T0 - 300_000, '5 min ago'], [T0 - 3 * 3_600_000, '3 h ago'],
  ])('formatAge(%s) is %s', (at, text) => expect(formatAge(at, T0)).toBe(text));

  it('explains failed fetches by status', () => {
    expect(describeFailure({ status: 404 })).toBe('not available on this gateway (404)');
    expect(describeFailure({ status: 401 })).toContain('401');
    expect(describeFailure({ status: 0 })).toBe('the gateway could not be reached');
    expect(describeFailure({ status: 503, title: 'Key server unavailable' })).toBe('Key server unavailable (503)');
  });
});
