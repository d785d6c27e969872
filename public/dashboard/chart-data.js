/**
 * @module The dashboard's data shaping, pure (no DOM, no fetch, the clock passed in): from the answers of
 * `/metrics/json`, `/health/services` and `/alerts/alerts` to chart columns, the fleet summary and display text.
 * Types: chart-data.d.ts beside this file. Unit tests: test/dashboard/chart-data.test.ts.
 */

/** Severities from most to least urgent, the order alerts are listed and counted in. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

/** Health states of a service, from the health plane, in display order. */
export const SERVICE_STATES = ['healthy', 'degraded', 'down', 'unknown'];

/** The time ranges the page offers, with what `/metrics/json` is asked for each. */
export const RANGES = {
  '15m': { label: '15 min', query: 'range=15m' },
  '60m': { label: '1 hour', query: 'range=60m' },
  // 24 hours of per-minute sums come from Analytics Engine where it is configured (the page falls back to live).
  '24h': { label: '24 hours', query: 'range=24h&source=analytics' },
};

/**
 * uPlot's aligned columns for one service's series: x in epoch seconds, then requests/s, error rate in percent and
 * latency p50/p95/p99 in ms. Ratios and latencies of minutes without requests are null (a gap, not a zero): there
 * was nothing to measure. Requests/s of such a minute is a true 0.
 * @example toChartColumns(service.series).requests // [[1764590400, …], [2.5, …]]
 */
export function toChartColumns(series) {
  const x = series.map((point) => Math.floor(point.at / 1000));
  return {
    requests: [x, series.map((point) => point.requestsPerSecond)],
    errors: [x, series.map((point) => (point.requests > 0 && point.errorRate !== null ? point.errorRate * 100 : null))],
    latency: [
      x,
      series.map((point) => (point.requests > 0 ? point.p50Ms : null)),
      series.map((point) => (point.requests > 0 ? point.p95Ms : null)),
      series.map((point) => (point.requests > 0 ? point.p99Ms : null)),
    ],
  };
}

/** Whether a service saw any request in the range (else the page says "no traffic yet" instead of drawing zeros). */
export function hasTraffic(service) {
  return service.totals.requests > 0;
}

/** Errors over the (timed) requests, or null when there were none. */
export function ratio(errors, requests) {
  return requests > 0 ? errors / requests : null;
}

/**
 * The figures at the top of the page. Each part is null when its endpoint gave no answer, so the page can say so
 * instead of showing zeros.
 * @param metrics MetricsJson or null
 * @param health `{ services }` of /health/services, or null
 * @param alerts the active alerts of /alerts/alerts, or null
 */
export function fleetSummary(metrics, health, alerts) {
  let traffic = null;
  if (metrics) {
    const sum = (field) => metrics.services.reduce((total, service) => total + service.totals[field], 0);
    const requests = sum('requests');
    const errors = sum('errors');
    // The error rate stands on the timed requests: the gateway's own 4xx refusals must not dilute it.
    const timed = sum('timedRequests');
    traffic = {
      requests,
      errors,
      rateLimited: sum('rateLimited'),
      requestsPerSecond: requests / (metrics.rangeMinutes * 60),
      errorRate: ratio(errors, timed),
    };
  }
  let services = null;
  if (health) {
    services = Object.fromEntries(SERVICE_STATES.map((state) => [state, 0]));
    for (const service of health.services) services[SERVICE_STATES.includes(service.status) ? service.status : 'unknown']++;
  }
  let alertCounts = null;
  if (alerts) {
    alertCounts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0]));
    for (const alert of alerts) if (alert.status === 'active' && severity(alert) in alertCounts) alertCounts[severity(alert)]++;
  }
  return { traffic, services, alerts: alertCounts };
}

function severity(alert) {
  return SEVERITIES.includes(alert.severity) ? alert.severity : 'info';
}

/** Alerts, most severe first, then newest first. */
export function sortAlerts(alerts) {
  return [...alerts].sort((a, b) => SEVERITIES.indexOf(severity(a)) - SEVERITIES.indexOf(severity(b)) || b.firedAt - a.firedAt);
}

/**
 * One row per service for the page: the metrics, health and alerts of one service joined by name. A service
 * known to only one endpoint still gets a row, with null for what the others did not say.
 */
export function joinServices(metrics, health, alerts) {
  const names = new Set([...(metrics?.services ?? []).map((s) => s.service), ...(health?.services ?? []).map((s) => s.name)]);
  return [...names].sort().map((name) => ({
    name,
    metrics: metrics?.services.find((s) => s.service === name) ?? null,
    health: health?.services.find((s) => s.name === name) ?? null,
    alerts: alerts ? alerts.filter((alert) => alert.service === name) : null,
  }));
}

/** A count with thousands separators: 12345 → "12,345". */
export function formatCount(value) {
  return Math.round(value).toLocaleString('en-US');
}

/** Requests per second, with precision where it matters: 0.0333 → "0.03", 12.34 → "12.3", 1234 → "1,234". */
export function formatRate(value) {
  if (value === 0) return '0';
  if (value < 1) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return formatCount(value);
}

/** A 0–1 ratio as a percentage, "–" for none: 0.0512 → "5.1%", 0.0004 → "0.04%". */
export function formatPercent(value) {
  if (value === null || value === undefined) return '–';
  const percent = value * 100;
  if (percent === 0) return '0%';
  return `${percent < 1 ? percent.toFixed(2) : percent.toFixed(1)}%`;
}

/** Milliseconds, "–" for none: 3.456 → "3.5 ms", 1234 → "1,234 ms". */
export function formatMs(value) {
  if (value === null || value === undefined) return '–';
  return `${value < 100 ? value.toFixed(1) : formatCount(value)} ms`;
}

/** How long ago `at` (epoch ms) was at `now`: "never", "just now", "42 s ago", "5 min ago", "3 h ago". */
export function formatAge(at, now) {
  if (at === null || at === undefined) return 'never';
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 2) return 'just now';
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3_600)} h ago`;
}

/**
 * What the page says about a failed fetch: 404 means the endpoint is not on this gateway, 401/403 that the
 * credentials do not open it; otherwise the problem's title and status.
 * @param failure `{ status, title? }` (status 0: the network failed)
 */
export function describeFailure(failure) {
  if (failure.status === 0) return 'the gateway could not be reached';
  if (failure.status === 404) return 'not available on this gateway (404)';
  if (failure.status === 401) return 'not signed in, or the token was refused (401)';
  if (failure.status === 403) return 'this identity is not an admin (403)';
  return `${failure.title ?? 'failed'} (${failure.status})`;
}
