/**
 * @module The read plane's endpoints: `/metrics` (Prometheus text) and `/metrics/json`, also at BharatVoice's
 * `/health/metrics` and `/health/metrics/json`. Open to admin credentials or the `METRICS_TOKEN` scrape token.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { version as packageVersion } from '../../package.json';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { DEFAULT_DATASET, perMinuteQuery, querySqlApi, seriesFromRows } from '../observability/analytics-sql.ts';
import { collectMetrics } from '../observability/collect-metrics.ts';
import { MINUTES_KEPT } from '../observability/service-traffic.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../observability/prometheus.ts';
import { renderMetricsJson } from '../observability/render-metrics-json.ts';
import { requireAdmin } from '../policies/admin-auth.ts';
import { readCredentials } from '../policies/auth/credentials.ts';
import { secretsEqual } from '../policies/auth/digest.ts';

const METRICS_PATHS = ['/metrics', '/metrics/json', '/health/metrics', '/health/metrics/json'];
/** Below this length METRICS_TOKEN is ignored, as ADMIN_TOKEN is (it could be guessed). */
const MIN_METRICS_TOKEN_LENGTH = 16;

/** The scrape token as a bearer token, else admin credentials exactly as the admin API takes them. */
function metricsAccess(): MiddlewareHandler<AppEnv> {
  const admin = requireAdmin({ prefixes: METRICS_PATHS });
  return async function metricsAccess(c, next) {
    const token = c.env.METRICS_TOKEN;
    const credentials = readCredentials(c.req.raw.headers);
    if (token && token.length >= MIN_METRICS_TOKEN_LENGTH && credentials.kind === 'bearer' && (await secretsEqual(credentials.token, token))) {
      return next();
    }
    return admin(c, next);
  };
}

/** Longest range Analytics Engine is asked for (a week of per-minute points). */
const ANALYTICS_MAX_MINUTES = 7 * 24 * 60;

/** `?range=` in minutes (`90`, `90m`), hours (`2h`) or days (`1d`); default 60 minutes, at most `max`. */
export function parseRangeMinutes(value: string | undefined, max: number): number {
  if (value === undefined || value === '') return 60;
  const match = /^(\d{1,5})(m|h|d)?$/.exec(value);
  const minutes = match ? Number(match[1]) * (match[2] === 'd' ? 1_440 : match[2] === 'h' ? 60 : 1) : NaN;
  if (!(minutes >= 1 && minutes <= max)) {
    throw new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: 'range', message: `expected 1 to ${max} minutes, as "60", "60m", "2h" or "1d"` }] } });
  }
  return minutes;
}

export function metricsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Per path: a bare use() here would run on every request once the app is mounted at "/".
  const access = metricsAccess();
  for (const path of METRICS_PATHS) app.use(path, access);
  for (const path of ['/metrics', '/health/metrics']) {
    app.get(path, async (c) => {
      const metrics = await collectMetrics(c.env, c.get('gateway'), 1);
      return c.body(renderPrometheus(metrics, packageVersion), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
    });
  }
  for (const path of ['/metrics/json', '/health/metrics/json']) {
    app.get(path, async (c) => {
      const source = c.req.query('source') ?? 'live';
      if (source !== 'live' && source !== 'analytics') {
        throw new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: 'source', message: 'expected "live" or "analytics"' }] } });
      }
      const range = parseRangeMinutes(c.req.query('range'), source === 'live' ? MINUTES_KEPT : ANALYTICS_MAX_MINUTES);
      const gateway = c.get('gateway');
      c.header('cache-control', 'no-store');
      if (source === 'live') return c.json(renderMetricsJson(await collectMetrics(c.env, gateway, range), range), 200);
      // History from Analytics Engine; breaker and instance states are the live ones (one minute of sums asked).
      const sql = perMinuteQuery(c.env.ANALYTICS_DATASET ?? DEFAULT_DATASET, range);
      const [rows, live] = await Promise.all([querySqlApi(c.env, sql), collectMetrics(c.env, gateway, 1)]);
      const history = seriesFromRows(rows, [...gateway.pools.keys()], range, Date.now());
      return c.json(renderMetricsJson(live, range, history), 200);
    });
  }
  return app;
}
