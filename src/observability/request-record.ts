/**
 * @module The read plane's one recording point: after the response of a proxied request is decided, one record
 * is made and handed to the sinks (the service's per-minute sums carried on its state sync, Analytics Engine).
 * Nothing here waits on I/O: sends go through `waitUntil`.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import type { ProblemKind } from '../errors/messages.ts';
import { waitUntilOf } from '../middleware/wait-until.ts';
import { flushServiceState } from '../state/sync-service-state.ts';
import { writeAccessLog } from './access-log.ts';
import { writeRequestDataPoint } from './analytics-engine.ts';
import { methodLabel, type RequestSample } from './traffic-sums.ts';

/** Filled in by forward(): which instance answered, after how many attempts, and the time spent on origins. */
export interface UpstreamExchange {
  instance?: string;
  attempts: number;
  /** Time from sending each attempt to its response headers, summed over attempts; a download's body is not in it. */
  upstreamMs: number;
}

/** One proxied request as the read plane sees it. Labels are bounded: no path, no query, no user. */
export interface RequestRecord extends RequestSample {
  service: string;
  routeId: string;
  /** `"-"` when no attempt reached an instance. */
  instance: string;
  /** The data centre (`request.cf.colo`); `local` under wrangler dev and in tests. */
  colo: string;
  requestId: string;
  traceId: string;
  attempts: number;
}

/** How a request ended, by the problem the gateway rendered (src/errors/) or else the origin's status. */
const OUTCOME_OF_PROBLEM: Partial<Record<ProblemKind, string>> = {
  'rate-limited': 'rate-limited',
  'circuit-open': 'breaker-open',
  'breaker-unavailable': 'breaker-open',
  'upstream-timeout': 'timeout',
  'upstream-unreachable': 'upstream-error',
  'no-instance-available': 'upstream-error',
  unauthorized: 'unauthorized',
  'malformed-credentials': 'unauthorized',
  forbidden: 'forbidden',
  'cors-rejected': 'forbidden',
  'concurrency-limit': 'overloaded',
  'rate-limit-unavailable': 'dependency-unavailable',
  'key-server-unavailable': 'dependency-unavailable',
  'auth-service-unavailable': 'dependency-unavailable',
  'internal-error': 'internal-error',
  'configuration-error': 'internal-error',
};

/**
 * The outcome label of a request. An origin's answer is `ok` unless it is a 5xx (`upstream-error`); an answer the
 * gateway made itself is named by its problem kind, other refusals (4xx problems) are `rejected`.
 */
export function outcomeOf(status: number, error: unknown): string {
  if (error instanceof GatewayError) return OUTCOME_OF_PROBLEM[error.kind] ?? (error.status >= 500 ? 'internal-error' : 'rejected');
  if (error !== undefined) return 'internal-error';
  return status >= 500 ? 'upstream-error' : 'ok';
}

function declaredLength(headers: Headers): number {
  const length = Number(headers.get('content-length'));
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

/**
 * Wraps the service chain: records every request that matched a service route, whatever its answer. Put it
 * right after requestContext, so problems rendered by onError are seen as the response they became.
 */
export function recordRequests(): MiddlewareHandler<AppEnv> {
  return async function recordRequests(c, next) {
    const started = Date.now();
    const exchange: UpstreamExchange = { attempts: 0, upstreamMs: 0 };
    c.set('exchange', exchange);
    await next();
    const route = c.get('route');
    if (!route) return;
    const gateway = c.get('gateway');
    const settings = gateway.config.gateway.observability;
    if (!settings.recording) return;
    const response = c.res;
    const trace = c.get('trace');
    const record: RequestRecord = {
      service: route.service.name,
      routeId: route.route.id!,
      method: methodLabel(c.req.method),
      status: response.status,
      outcome: outcomeOf(response.status, c.error),
      instance: exchange.instance ?? '-',
      colo: (c.req.raw.cf?.colo as string | undefined) ?? 'local',
      latencyMs: Date.now() - started,
      upstreamMs: exchange.attempts > 0 ? exchange.upstreamMs : undefined,
      attempts: exchange.attempts,
      bytesIn: declaredLength(c.req.raw.headers),
      bytesOut: declaredLength(response.headers),
      requestId: trace.requestId,
      traceId: trace.traceId,
    };
    const pool = gateway.pools.get(record.service);
    const waitUntil = waitUntilOf(c);
    if (pool) {
      pool.state.recordRequest(record, Date.now());
      flushServiceState(c.env, pool, gateway.config.gateway.statePlane, waitUntil);
    }
    if (c.env.REQUEST_ANALYTICS) writeRequestDataPoint(c.env.REQUEST_ANALYTICS, record);
    writeAccessLog(record, settings.accessLog);
  };
}
