/**
 * @module The read plane's endpoints: `/metrics` (Prometheus text) and `/metrics/json`, also at BharatVoice's
 * `/health/metrics` and `/health/metrics/json`. Open to admin credentials or the `METRICS_TOKEN` scrape token.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import packageJson from '../../package.json';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
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

/** `?range=` in minutes (`90`, `90m`) or hours (`2h`); default 60 minutes, at most what the objects keep. */
export function parseRangeMinutes(value: string | undefined): number {
  if (value === undefined || value === '') return 60;
  const match = /^(\d{1,4})(m|h)?$/.exec(value);
  const minutes = match ? Number(match[1]) * (match[2] === 'h' ? 60 : 1) : NaN;
  if (!(minutes >= 1 && minutes <= MINUTES_KEPT)) {
    throw new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: 'range', message: `expected 1 to ${MINUTES_KEPT} minutes, as "60", "60m" or "2h"` }] } });
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
      return c.body(renderPrometheus(metrics, packageJson.version), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
    });
  }
  for (const path of ['/metrics/json', '/health/metrics/json']) {
    app.get(path, async (c) => {
      const source = c.req.query('source') ?? 'live';
      if (source !== 'live') {
        throw new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: 'source', message: 'expected "live"' }] } });
      }
      const range = parseRangeMinutes(c.req.query('range'));
      const metrics = await collectMetrics(c.env, c.get('gateway'), range);
      c.header('cache-control', 'no-store');
      return c.json(renderMetricsJson(metrics, range), 200);
    });
  }
  return app;
}
