/** @module Sends a request to a service: instance choice, timeouts, retries on another instance, streaming. */
import type { ServicePool } from '../balancing/service-pool.ts';
import type { InstanceState } from '../balancing/instance-state.ts';
import { GatewayError } from '../errors/problem.ts';
import { recordAttempt, type RequestObservation } from '../observability/request-spans.ts';
import type { TraceContext } from '../observability/trace-context.ts';
import { prepareResponseHeaders } from './headers.ts';
import {
  countsAgainstInstance,
  exchange,
  noteClientFault,
  releaseWhenDelivered,
  type ClientBody,
  type IdleSide,
  type OriginFailure,
} from './upstream-exchange.ts';
import { waitingAttempts } from './waiting-attempts.ts';

export interface ForwardRequest {
  method: string;
  /** Normalised, rewritten path sent to the origin. */
  path: string;
  /** Query string including "?", or "". */
  search: string;
  /** The client's headers; `rewriteHeaders` turns each attempt's copy of them into what the origin receives. */
  headers: Headers;
  rewriteHeaders?: (headers: Headers) => void;
  body: ReadableStream<Uint8Array> | null;
  /** Declared `Content-Length`, when the client sent one. */
  contentLength: number | undefined;
  trace: TraceContext;
  webSocket: boolean;
  /**
   * The client's body as edge hygiene guards it: when the client is at fault (body too large, stalled or cut short)
   * the upstream request is aborted, the problem is the answer, and the instance is not blamed.
   */
  clientBody?: ClientBody;
  /** Aborted when the client went away: the upstream request is cancelled and nobody is blamed. */
  clientGone?: AbortSignal;
  /**
   * Longest wait for the client to take the next chunk of a streamed response (`gateway.limits.bodyIdleTimeoutMs`,
   * the bound on a client that stops sending its body); the service's `responseIdleMs` when absent.
   */
  clientIdleMs?: number;
  /** Called once when the response body has been delivered (or the client left, or there is no response). */
  onDelivered?: () => void;
  /** Filled in for the read plane's recording point: instance, attempts and time spent waiting on origins. */
  observation?: RequestObservation | undefined;
}

/**
 * Forwards `request` to one of `pool`'s instances and returns the response as the client should see it.
 * Retries (on another instance, within the retry budget) apply only to the methods and conditions the service
 * allows, and only when the body can be replayed: bodies up to `maxBufferedBodyBytes` are buffered, larger or
 * unsized ones stream straight through and get exactly one attempt.
 *
 * @throws GatewayError `upstream-timeout` (504), `upstream-unreachable` (502) or `no-instance-available` (503).
 */
export async function forward(
  pool: ServicePool,
  request: ForwardRequest,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Response> {
  const { service } = pool;
  const { retries, timeouts } = service;
  const started = Date.now();
  const deadline = started + timeouts.requestMs;
  const perTryMs = timeouts.perTryMs ?? timeouts.requestMs;

  let body: ReadableStream<Uint8Array> | ArrayBuffer | null = request.body;
  let maxAttempts = 1;
  if (!request.webSocket && retries.attempts > 0 && (retries.methods as readonly string[]).includes(request.method)) {
    if (body === null) maxAttempts += retries.attempts;
    else if (request.contentLength !== undefined && request.contentLength <= retries.maxBufferedBodyBytes) {
      try {
        body = await readWithin(body, timeouts.requestMs);
      } catch (cause) {
        // Too slow (readWithin), or broken while being buffered: the client's fault, before any instance was tried.
        if (cause instanceof GatewayError) throw noteClientFault(cause, request.trace.requestId);
        const problem = request.clientBody?.fault.aborted ? (request.clientBody.fault.reason as GatewayError) : new GatewayError('incomplete-body', {}, { cause });
        throw noteClientFault(problem, request.trace.requestId);
      }
      // A guarded body ends early when the client is at fault: never forward what was read of it.
      if (request.clientBody?.fault.aborted) throw noteClientFault(request.clientBody.fault.reason as GatewayError, request.trace.requestId);
      maxAttempts += retries.attempts;
    }
  }

  // A bodiless request runs without waitUntil (proxyToService): its attempts are noted while they wait, so one the
  // runtime drops (the client left) still gives back what it holds (waiting-attempts.ts).
  const watched = body === null && !request.clientBody;
  pool.retryBudget.recordRequest(started);
  // Made on the first retry: most requests take one attempt.
  let tried: Set<InstanceState> | undefined;
  let lastFailure: OriginFailure | undefined;
  for (let attempt = 1; ; attempt++) {
    const now = Date.now();
    waitingAttempts.sweep(now);
    const instance = pool.choose(tried ?? NONE_TRIED, now);
    if (!instance) break;

    // The instance's in-flight count stays raised on a response: its body is still on its way, and
    // clientResponse lowers the count when it has been delivered.
    instance.inFlight += 1;
    const timeoutMs = Math.min(perTryMs, deadline - now);
    const waiting = watched ? waitingAttempts.wait(now + timeoutMs, instance, request.onDelivered) : undefined;
    const outcome = await exchange({
      // The URL is the instance's base plus a normalised path that starts with exactly one "/": no request path
      // can make it point at another host (unlike `new URL(path, base)` with `//evil.example`).
      url: `${instance.base}${request.path}${request.search}`,
      method: request.method,
      headers: request.headers,
      rewriteHeaders: request.rewriteHeaders,
      body,
      timeoutMs,
      clientBody: request.clientBody,
      clientGone: request.clientGone,
    });
    // Given up for abandoned while this isolate stalled: the in-flight unit it gave back is this attempt's again.
    if (waiting && !waitingAttempts.ended(waiting)) instance.inFlight += 1;
    // When the attempt ended: its latency, and the time every decision below is taken at.
    const ended = Date.now();
    if (outcome.kind === 'response') instance.observeRtt(ended - now, ended, service.loadBalancing.ewmaDecayMs);
    else instance.inFlight -= 1;
    if (request.observation) {
      const result = outcome.kind === 'response' ? outcome.response.status : outcome.kind === 'origin-failure' ? outcome.failure : 'client-fault';
      recordAttempt(request.observation, instance.id, attempt, now, result);
    }
    // The request's own fault (a body cut short, too large or stalled, a request the runtime will not send):
    // answered as such, never held against the instance, never retried.
    if (outcome.kind === 'client-fault') throw noteClientFault(outcome.problem, request.trace.requestId);
    const isLast = attempt >= maxAttempts || ended >= deadline || attempt >= pool.instances.length;
    if (!isLast) (tried ??= new Set()).add(instance);

    pool.recordOutcome(instance, countsAgainstInstance(outcome) === true, ended - now);
    if (outcome.kind === 'origin-failure') {
      instance.markFailure(ended, service.loadBalancing.failureCooldownMs);
      lastFailure = outcome.failure;
      if (!isLast && retries.on.includes(outcome.failure) && pool.retryBudget.tryAcquire(ended)) continue;
      break;
    }

    const { response } = outcome;
    instance.markSuccess();
    if (!isLast && shouldRetryStatus(response.status, retries.on) && pool.retryBudget.tryAcquire(ended)) {
      instance.inFlight -= 1;
      // Not awaited: the retry need not wait for the connection to be given back, and a body that already
      // failed (cancel() rejects then) must not turn a retry into an error.
      response.body?.cancel().catch(() => {});
      continue;
    }
    return clientResponse(response, instance, request, waitUntil, service);
  }

  if (lastFailure === 'timeout') {
    throw new GatewayError('upstream-timeout', { service: service.name, timeoutMs: Math.min(perTryMs, timeouts.requestMs) });
  }
  if (lastFailure === 'connect-failure') throw new GatewayError('upstream-unreachable', { service: service.name });
  throw new GatewayError('no-instance-available', { service: service.name });
}

/**
 * A replayable body read whole, within the request's time, as a streamed body's upload is (exchangeWithBody): a
 * client that drip-feeds it, each chunk inside the body idle timeout, gets 408. Unbounded, the wait used up the
 * request's time before any instance was asked, and the first one was then charged a timeout (504, a failure
 * towards its ejection and the breaker) it never had a chance to avoid.
 *
 * @throws GatewayError `request-timeout` when the body has not arrived whole within `timeoutMs`.
 */
async function readWithin(body: ReadableStream<Uint8Array>, timeoutMs: number): Promise<ArrayBuffer> {
  const reading = new Response(body).arrayBuffer();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  try {
    const whole = await Promise.race([reading, late]);
    if (whole !== undefined) return whole;
  } finally {
    clearTimeout(timer);
  }
  // Left to end with the request (or the body guard's idle timeout): its failure then is nobody's concern.
  reading.catch(() => {});
  throw new GatewayError('request-timeout', { timeoutMs });
}

function shouldRetryStatus(status: number, on: readonly string[]): boolean {
  if (status >= 500 && on.includes('5xx')) return true;
  return (status === 502 || status === 503 || status === 504) && on.includes('gateway-error');
}

const NONE_TRIED: ReadonlySet<InstanceState> = new Set();

/** Bodies up to this size count as delivered with their headers. */
const SHORT_BODY_BYTES = 64 * 1024;

/**
 * The origin's response with hop-by-hop headers removed. A long or unsized body (a download, a stream) is relayed
 * into the client's (a read and a write per chunk, for the idle watch), and the instance's in-flight count and whatever the
 * request holds (`onDelivered`: its concurrency slot) are released when the last byte has gone or the client left:
 * least connections and the concurrency limit must see long transfers. An origin that stalls mid-body for
 * `responseIdleMs`, or a client that takes nothing for `clientIdleMs`, is cut off (the client's body ends in an
 * error) and the same things are released; neither is blamed on the instance.
 */
function clientResponse(
  upstream: Response,
  instance: InstanceState,
  request: ForwardRequest,
  waitUntil: (promise: Promise<unknown>) => void,
  service: ServicePool['service'],
): Response {
  const release = () => {
    instance.inFlight -= 1;
    request.onDelivered?.();
  };
  if (upstream.status === 101 || upstream.webSocket) {
    // The socket is handed to the runtime, which relays it; the gateway no longer sees it.
    release();
    const headers = new Headers(upstream.headers);
    prepareResponseHeaders(headers, request.trace);
    return new Response(null, { status: 101, headers, webSocket: upstream.webSocket });
  }
  const length = Number(upstream.headers.get('content-length') ?? NaN);
  let body = upstream.body;
  if (!body || length <= SHORT_BODY_BYTES) {
    // A short body is delivered in about the time its headers took: count the request as done now, and spare
    // the pipe below, which costs more than the rest of the request path together.
    release();
  } else {
    // The runtime hands over the body decoded; only an unencoded body still has the declared length.
    const encoded = (upstream.headers.get('content-encoding') ?? 'identity') !== 'identity';
    // Not blamed on the instance when it stalls: its status was already sent and its outcome recorded as the
    // headers arrived; recording a second one would count one request twice in the breaker's window.
    const idleTimeoutMs = service.timeouts.responseIdleMs;
    const clientIdleMs = request.clientIdleMs ?? idleTimeoutMs;
    const onIdle = (side: IdleSide) => {
      const event = side === 'origin' ? { event: 'response-idle-timeout', idleTimeoutMs } : { event: 'client-read-timeout', idleTimeoutMs: clientIdleMs };
      console.warn(JSON.stringify({ level: 'warn', ...event, service: service.name, instance: instance.id, requestId: request.trace.requestId }));
    };
    body = releaseWhenDelivered(body, length, encoded, release, waitUntil, { idleTimeoutMs, clientIdleMs, onIdle });
  }
  // Built from the upstream response itself: status, text and a mutable copy of its headers in one native call.
  const response = new Response(body, upstream);
  prepareResponseHeaders(response.headers, request.trace);
  return response;
}
