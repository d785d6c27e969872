/**
 * @module Long-range history from Workers Analytics Engine, read through the account's SQL API
 * (`POST /accounts/<id>/analytics_engine/sql`, bearer token with Account Analytics Read). Rows are sampled, so
 * every count is `SUM(_sample_interval)`; quantiles are weighted by it. Field positions: analytics-engine.ts.
 */
import type { Env } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { REQUEST_POINT_LAYOUT } from './analytics-engine.ts';
import type { MinutePoint } from './metrics-json.ts';

export const DEFAULT_SQL_API = 'https://api.cloudflare.com/client/v4';
export const DEFAULT_DATASET = 'edge_gateway_development';

/**
 * A timed request, as the live sums count them (traffic-sums.ts): all but the gateway's own 4xx refusals (status
 * `double1`, outcome `blob4`). Latency quantiles and the error rate stand on these.
 */
const TIMED = "(double1 >= 500 OR blob4 = 'ok')";

/** The SQL text for per-service, per-minute figures over the last `rangeMinutes`. */
export function perMinuteQuery(dataset: string, rangeMinutes: number): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(dataset)) throw new Error(`not a dataset name: ${dataset}`);
  const minutes = Math.floor(rangeMinutes);
  return `SELECT blob1 AS service,
  toUnixTimestamp(toStartOfInterval(timestamp, INTERVAL '1' MINUTE)) AS minute,
  SUM(_sample_interval) AS requests,
  SUM(IF(double1 >= 500, _sample_interval, 0)) AS errors,
  SUM(IF(${TIMED}, _sample_interval, 0)) AS timed_requests,
  SUM(IF(blob4 = 'rate-limited', _sample_interval, 0)) AS rate_limited,
  SUM(_sample_interval * double4) AS bytes_in,
  SUM(_sample_interval * double5) AS bytes_out,
  quantileExactWeighted(0.5)(double2, IF(${TIMED}, _sample_interval, 0)) AS p50_ms,
  quantileExactWeighted(0.95)(double2, IF(${TIMED}, _sample_interval, 0)) AS p95_ms,
  quantileExactWeighted(0.99)(double2, IF(${TIMED}, _sample_interval, 0)) AS p99_ms
FROM ${dataset}
WHERE timestamp > NOW() - INTERVAL '${minutes}' MINUTE AND blob8 = '${REQUEST_POINT_LAYOUT}'
GROUP BY service, minute
ORDER BY minute
FORMAT JSON`;
}

function unavailable(reason: string, cause?: unknown): GatewayError {
  return new GatewayError('analytics-unavailable', { reason }, { cause, headers: { 'retry-after': '30' } });
}

/** Runs `sql` against the account's SQL API; rows as the API's JSON format gives them (`data`). */
export async function querySqlApi(env: Env, sql: string, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
  const account = env.CF_ACCOUNT_ID;
  const token = env.CF_ANALYTICS_TOKEN;
  if (!account || !token) throw unavailable('CF_ACCOUNT_ID and CF_ANALYTICS_TOKEN are not both set.');
  if (!/^[0-9a-f]{32}$/.test(account)) throw unavailable('CF_ACCOUNT_ID is not an account id.');
  const base = (env.ANALYTICS_SQL_API_URL ?? DEFAULT_SQL_API).replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}/accounts/${account}/analytics_engine/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: sql,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw unavailable('the SQL API could not be reached.', error);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw unavailable(`the SQL API answered ${response.status}.`);
  }
  const body = (await response.json().catch(() => undefined)) as { data?: unknown } | undefined;
  if (!body || !Array.isArray(body.data)) throw unavailable('the SQL API answer has no data.');
  return body.data as Record<string, unknown>[];
}

/** Numbers may come back as strings (64-bit integers in ClickHouse's JSON): read both. */
function num(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

function nullableNum(value: unknown): number | null {
  return value === null || value === undefined || value === '' ? null : num(value);
}

/** Per service, one point per minute of the range (oldest first, minutes without rows as zeros). */
export function seriesFromRows(rows: readonly Record<string, unknown>[], services: readonly string[], rangeMinutes: number, now: number): Map<string, MinutePoint[]> {
  const current = now - (now % 60_000);
  const first = current - (rangeMinutes - 1) * 60_000;
  const byService = new Map<string, Map<number, MinutePoint>>(services.map((s) => [s, new Map()]));
  for (const row of rows) {
    const points = byService.get(String(row.service));
    if (!points) continue;
    const at = num(row.minute) * 1000;
    const requests = num(row.requests);
    const errors = num(row.errors);
    const timed = num(row.timed_requests);
    points.set(at, {
      at,
      requests,
      requestsPerSecond: requests / 60,
      errorRate: timed === 0 ? null : errors / timed,
      errors,
      timedRequests: timed,
      rateLimited: num(row.rate_limited),
      p50Ms: nullableNum(row.p50_ms),
      p95Ms: nullableNum(row.p95_ms),
      p99Ms: nullableNum(row.p99_ms),
      bytesIn: num(row.bytes_in),
      bytesOut: num(row.bytes_out),
    });
  }
  const result = new Map<string, MinutePoint[]>();
  for (const [service, points] of byService) {
    const series: MinutePoint[] = [];
    for (let at = first; at <= current; at += 60_000) {
      series.push(points.get(at) ?? { at, requests: 0, requestsPerSecond: 0, errorRate: null, errors: 0, timedRequests: 0, rateLimited: 0, p50Ms: null, p95Ms: null, p99Ms: null, bytesIn: 0, bytesOut: 0 });
    }
    result.set(service, series);
  }
  return result;
}
