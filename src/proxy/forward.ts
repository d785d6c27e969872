/** @module Sends a request to a service: instance choice, timeouts, retries on another instance, streaming. */
import type { ServicePool } from '../balancing/service-pool.ts';
import type { InstanceState } from '../balancing/instance-state.ts';
import { GatewayError } from '../errors/problem.ts';
import { recordAttempt, type RequestObservation } from '../observability/request-spans.ts';
import type { TraceContext } from '../observability/trace-context.ts';
import { prepareResponseHeaders } from './headers.ts';

export interface ForwardRequest {
  method: string;
  /** Normalised, rewritten path sent to the origin. */
  path: string;
  /** Query string including "?", or "". */
  search: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  /** Declared `Content-Length`, when the client sent one. */
  contentLength: number | undefined;
  trace: TraceContext;
  webSocket: boolean;
  /** Aborts the upstream request from the gateway's side; its reason (a GatewayError) becomes the answer. */
  signal?: AbortSignal;
  /** Filled in for the read plane's recording point: instance, attempts and time spent waiting on origins. */
  observation?: RequestObservation | undefined;
}

type Failure = 'connect-failure' | 'timeout';

/** Why an attempt ended without a usable response. */
class AttemptFailed {
  readonly failure: Failure;
  constructor(failure: Failure) {
    this.failure = failure;
  }
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
      body = await new Response(body).arrayBuffer();
      maxAttempts += retries.attempts;
    }
  }

  pool.retryBudget.recordRequest(started);
  const tried = new Set<InstanceState>();
  let lastFailure: Failure | undefined;
  for (let attempt = 1; ; attempt++) {
    const now = Date.now();
    const instance = pool.choose(tried, now);
    if (!instance) break;
    tried.add(instance);

    const timeoutMs = Math.min(perTryMs, deadline - now);
    const outcome = await attemptOnce(instance, request, body, timeoutMs, service.loadBalancing.ewmaDecayMs);
    if (request.observation) recordAttempt(request.observation, instance.id, attempt, now, outcome instanceof AttemptFailed ? outcome.failure : outcome.status);
    const isLast =
      attempt >= maxAttempts || Date.now() >= deadline || tried.size >= pool.instances.length;

    pool.recordOutcome(instance, outcome instanceof AttemptFailed || outcome.status >= 500, Date.now() - now);
    if (outcome instanceof AttemptFailed) {
      instance.markFailure(Date.now(), service.loadBalancing.failureCooldownMs);
      lastFailure = outcome.failure;
      if (!isLast && retries.on.includes(outcome.failure) && pool.retryBudget.tryAcquire(Date.now())) continue;
      break;
    }

    instance.markSuccess();
    if (!isLast && shouldRetryStatus(outcome.status, retries.on) && pool.retryBudget.tryAcquire(Date.now())) {
      instance.inFlight -= 1;
      await outcome.body?.cancel();
      continue;
    }
    return clientResponse(outcome, instance, request.trace, waitUntil);
  }

  if (lastFailure === 'timeout') {
    throw new GatewayError('upstream-timeout', { service: service.name, timeoutMs: Math.min(perTryMs, timeouts.requestMs) });
  }
  if (lastFailure === 'connect-failure') throw new GatewayError('upstream-unreachable', { service: service.name });
  throw new GatewayError('no-instance-available', { service: service.name });
}

function shouldRetryStatus(status: number, on: readonly string[]): boolean {
  if (status >= 500 && on.includes('5xx')) return true;
  return (status === 502 || status === 503 || status === 504) && on.includes('gateway-error');
}

/**
 * One attempt against one instance. On success the instance's in-flight count stays raised: the response body
 * is still on its way, and {@link clientResponse} lowers the count when it has been delivered.
 */
async function attemptOnce(
  instance: InstanceState,
  request: ForwardRequest,
  body: ReadableStream<Uint8Array> | ArrayBuffer | null,
  timeoutMs: number,
  ewmaDecayMs: number,
): Promise<Response | AttemptFailed> {
  if (timeoutMs <= 0) return new AttemptFailed('timeout');
  // The timer covers the wait for response headers only: a long download or stream is not cut off.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = Date.now();
  instance.inFlight += 1;
  try {
    // The URL is the instance's base plus a normalised path that starts with exactly one "/": no request path
    // can make it point at another host (unlike `new URL(path, base)` with `//evil.example`).
    const response = await fetch(`${instance.base}${request.path}${request.search}`, {
      method: request.method,
      headers: request.headers,
      body,
      redirect: 'manual',
      signal: request.signal ? AbortSignal.any([controller.signal, request.signal]) : controller.signal,
    });
    instance.observeRtt(Date.now() - started, Date.now(), ewmaDecayMs);
    return response;
  } catch {
    instance.inFlight -= 1;
    // Cut off by the gateway (the body limit): not the instance's fault, and the reason is the answer.
    if (request.signal?.aborted) throw request.signal.reason;
    return new AttemptFailed(controller.signal.aborted ? 'timeout' : 'connect-failure');
  } finally {
    clearTimeout(timer);
  }
}

/** Bodies up to this size count as delivered with their headers. */
const SHORT_BODY_BYTES = 64 * 1024;

/**
 * The origin's response with hop-by-hop headers removed. A long or unsized body (a download, a stream) is piped
 * natively (no JavaScript per chunk) into the client's, and the instance's in-flight count drops when the last
 * byte has gone or the client left: least connections must see long transfers.
 */
function clientResponse(
  upstream: Response,
  instance: InstanceState,
  trace: TraceContext,
  waitUntil: (promise: Promise<unknown>) => void,
): Response {
  if (upstream.status === 101 || upstream.webSocket) {
    // The socket is handed to the runtime, which relays it; the gateway no longer sees it.
    instance.inFlight -= 1;
    const headers = new Headers(upstream.headers);
    prepareResponseHeaders(headers, trace);
    return new Response(null, { status: 101, headers, webSocket: upstream.webSocket });
  }
  const length = Number(upstream.headers.get('content-length') ?? NaN);
  let body = upstream.body;
  if (!body || length <= SHORT_BODY_BYTES) {
    // A short body is delivered in about the time its headers took: count the request as done now, and spare
    // the pipe below, which costs more than the rest of the request path together.
    instance.inFlight -= 1;
  } else {
    // The runtime hands over the body decoded; only an unencoded body still has the declared length.
    const encoded = (upstream.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const relay =
      Number.isSafeInteger(length) && !encoded ? new FixedLengthStream(length) : new IdentityTransformStream();
    const done = () => (instance.inFlight -= 1);
    waitUntil(body.pipeTo(relay.writable).then(done, done));
    body = relay.readable;
  }
  // Built from the upstream response itself: status, text and a mutable copy of its headers in one native call.
  const response = new Response(body, upstream);
  prepareResponseHeaders(response.headers, trace);
  return response;
}
