/**
 * @module The read plane's one recording point: after the response of a proxied request is decided, one record
 * is made and handed to the sinks (the service's per-minute sums carried on its state sync, Analytics Engine).
 * Nothing here waits on I/O: sends go through `waitUntil`.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import type { ProblemKind } from '../errors/messages.ts';
import { flushServiceState } from '../state/clients/sync-service-state.ts';
import { writeAccessLog } from './access-log.ts';
import { writeRequestDataPoint } from './analytics-engine.ts';
import { newObservation, serverTiming } from './request-spans.ts';
import { keepReason } from './trace-sampling.ts';
import { methodLabel, type RequestSample } from './traffic-sums.ts';

export type { RequestObservation } from './request-spans.ts';

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

/**
 * The data centre this isolate runs in, read from the isolate's first recorded request and kept: an isolate never
 * moves, and reading `request.cf` costs in every request (deployed it is parsed from JSON on its first read; the
 * bench's profile charged about 10 µs per request to the read even locally, where it is absent). An isolate's
 * requests either all carry `cf` (deployed) or none do (workerd and wrangler dev locally, the tests): `local`.
 */
let isolateColo: string | undefined;

function coloOf(request: Request): string {
  if (isolateColo === undefined) {
    const colo = request.cf?.colo;
    isolateColo = typeof colo === 'string' ? colo : 'local';
  }
  return isolateColo;
}

function declaredLength(headers: Headers): number {
  const length = Number(headers.get('content-length'));
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

/**
 * The recording point's first half, in the edge layer (src/app.ts) right after the request context: the request's
 * observation (which the forward fills in) and its start time, which {@link finishRecording} takes back.
 */
export function startRecording(c: Context<AppEnv>): number {
  c.set('observation', newObservation());
  return Date.now();
}

/**
 * The recording point's second half, once the answer is known: records every request that matched a service
 * route, whatever its answer. The edge layer calls it with `c.res` already the problem when the chain refused the
 * request (rendered by answerWithProblem), so problems are recorded as the response they became.
 */
export function finishRecording(c: Context<AppEnv>, started: number, waitUntil: (promise: Promise<unknown>) => void): void {
  const route = c.get('route');
  if (!route) return;
  const gateway = c.get('gateway');
  const settings = gateway.config.gateway.observability;
  if (!settings.recording) return;
  const observation = c.get('observation')!;
  const response = c.res;
  const trace = c.get('trace');
  const latencyMs = Date.now() - started;
  const record: RequestRecord = {
    service: route.service.name,
    routeId: route.route.id!,
    method: methodLabel(c.req.method),
    status: response.status,
    outcome: outcomeOf(response.status, c.error),
    instance: observation.instance ?? '-',
    colo: coloOf(c.req.raw),
    latencyMs,
    upstreamMs: observation.attempts > 0 ? observation.upstreamMs : undefined,
    attempts: observation.attempts,
    // A request without a body (most of them) needs no header read.
    bytesIn: c.req.raw.body === null ? 0 : declaredLength(c.req.raw.headers),
    bytesOut: declaredLength(response.headers),
    requestId: trace.requestId,
    traceId: trace.traceId,
  };
  try {
    response.headers.set('server-timing', serverTiming(observation, latencyMs));
  } catch {
    // Immutable headers (a response passed through untouched): the timing is still in the trace and the log.
  }
  const pool = gateway.pools.get(record.service);
  if (pool) {
    pool.state.recordRequest(record, Date.now());
    // The caller's sampled flag counts only when the trace id is the caller's (the gateway started none).
    const parentSampled = trace.fromCaller && (parseInt(trace.flags, 16) & 1) === 1;
    const kept = keepReason(record, parentSampled, settings.traces, Math.random());
    if (kept) {
      pool.state.tracesKept = settings.traces.keptPerService;
      pool.state.recordTrace({
        traceId: trace.traceId,
        spanId: trace.spanId,
        requestId: trace.requestId,
        service: record.service,
        route: record.routeId,
        method: record.method,
        status: record.status,
        outcome: record.outcome,
        start: started,
        durationMs: latencyMs,
        kept,
        spans: observation.spans,
      });
    }
    flushServiceState(c.env, pool, gateway.config.gateway.statePlane, waitUntil);
  }
  if (c.env.REQUEST_ANALYTICS) writeRequestDataPoint(c.env.REQUEST_ANALYTICS, record);
  writeAccessLog(record, settings.accessLog);
}
