/**
 * @module The one wrapper around the upstream exchange: who is blamed when an attempt fails (the origin or the
 * client), how long a client's body may stall, and releasing what a request holds when it completes or the client
 * leaves. forward.ts drives attempts through it; nothing else decides these things.
 */
import { GatewayError } from '../errors/problem.ts';

/** Requests refused as the client's fault in this isolate, by problem kind (malformed Host, body faults, ...). */
export const clientFaultCounts: Record<string, number> = {};

/**
 * Counts and logs (one JSON line) a request refused as the client's fault: never a stack, never the raw value.
 * Returns `problem` so callers can `throw noteClientFault(...)`.
 */
export function noteClientFault(problem: GatewayError, requestId: string): GatewayError {
  clientFaultCounts[problem.kind] = (clientFaultCounts[problem.kind] ?? 0) + 1;
  console.warn(JSON.stringify({ level: 'warn', event: 'client-fault', kind: problem.kind, status: problem.status, requestId }));
  return problem;
}

/** Failures that are the origin's doing: they count against the instance, its ejection and its breaker. */
export type OriginFailure = 'connect-failure' | 'timeout';

/**
 * How one attempt against an instance ended.
 * - `response`: the origin answered (a 5xx still counts against it, see {@link countsAgainstInstance});
 * - `origin-failure`: refused or reset connection, or no answer in time: the instance's fault;
 * - `client-fault`: the request itself could not be sent (a URL or method the runtime refuses, a body the client
 *   cut short, stalled or made too large): answered with `problem`, and never held against the instance.
 */
export type AttemptOutcome =
  | { kind: 'response'; response: Response }
  | { kind: 'origin-failure'; failure: OriginFailure }
  | { kind: 'client-fault'; problem: GatewayError };

/** Whether an outcome counts as a failure of the instance (ejection, breaker, least-connections latency). */
export function countsAgainstInstance(outcome: AttemptOutcome): boolean | undefined {
  if (outcome.kind === 'client-fault') return undefined;
  return outcome.kind === 'origin-failure' || outcome.response.status >= 500;
}

export interface ExchangeInput {
  url: string;
  method: string;
  /** The client's headers, copied into the upstream request as it is built. */
  headers: Headers;
  /** Edits that copy into what the origin receives (see rewriteRequestHeaders in headers.ts). */
  rewriteHeaders?: (headers: Headers) => void;
  body: ReadableStream<Uint8Array> | ArrayBuffer | null;
  /** Wait for the response headers at most this long. */
  timeoutMs: number;
  /** The client's body, when it has one and is being sent: see {@link guardClientBody}. */
  clientBody?: ClientBody;
  /** Aborted when the client has gone away: the upstream request is cancelled and nobody is blamed. */
  clientGone?: AbortSignal;
}

/** Sends one upstream request and classifies how it ended. Never throws. */
export function exchange(input: ExchangeInput): Promise<AttemptOutcome> {
  if (input.timeoutMs <= 0) return Promise.resolve({ kind: 'origin-failure', failure: 'timeout' });
  if (input.clientGone?.aborted) return Promise.resolve({ kind: 'client-fault', problem: new GatewayError('incomplete-body') });
  return input.body === null && !input.clientBody ? exchangeWithoutBody(input) : exchangeWithBody(input);
}

/**
 * The common case, a request with no body: nothing of the client's can fail on the way, so no signal is given to
 * the upstream request. A signal made workerd's fetch cost about 40 µs more per request (measured, see
 * docs/performance.md); the per-try timeout races the response instead. A request that timed out is not aborted
 * but dropped: its response, if one still comes, is cancelled, and the runtime cancels the subrequest when the
 * request's context ends. (The client's departure is not watched here: while a request waits for the origin's
 * headers, workerd cancels its continuation without firing `request.signal`.)
 */
function exchangeWithoutBody(input: ExchangeInput): Promise<AttemptOutcome> {
  let upstream: Request;
  try {
    upstream = new Request(input.url, { method: input.method, headers: input.headers, redirect: 'manual' });
  } catch (cause) {
    return Promise.resolve({ kind: 'client-fault', problem: new GatewayError('request-not-forwardable', {}, { cause }) });
  }
  input.rewriteHeaders?.(upstream.headers);
  // One promise settled by whichever comes first (fewer allocations than an async function around Promise.race).
  return new Promise((resolve) => {
    const answer = fetch(upstream);
    const timer = setTimeout(() => {
      resolve(TIMED_OUT);
      // cancel() rejects when the late body has already failed: nothing left to do then, and nothing to report.
      answer.then((late) => late.body?.cancel(), () => {}).catch(() => {});
    }, input.timeoutMs);
    answer.then(
      (response) => {
        clearTimeout(timer);
        resolve({ kind: 'response', response });
      },
      () => {
        clearTimeout(timer);
        resolve(CONNECT_FAILURE);
      },
    );
  });
}

const TIMED_OUT: AttemptOutcome = { kind: 'origin-failure', failure: 'timeout' };
const CONNECT_FAILURE: AttemptOutcome = { kind: 'origin-failure', failure: 'connect-failure' };

/**
 * A request with a body: one controller, which the timer, the client's body guard and the client's departure
 * abort, so the upload stops when the client is at fault. Listeners rather than AbortSignal.any: `any` cost about
 * 10-30 µs per request in workerd (measured, see docs/performance.md), a listener about 1 µs. Not
 * AbortSignal.timeout either: the fetch's signal also aborts the response body, and the timer must cover the wait
 * for response headers only (a long download or stream is not cut off), so it is cleared once they have arrived.
 */
async function exchangeWithBody(input: ExchangeInput): Promise<AttemptOutcome> {
  const timer = new AbortController();
  const abort = () => timer.abort();
  const clientFault = input.clientBody?.fault;
  for (const signal of [clientFault, input.clientGone]) {
    if (!signal) continue;
    if (signal.aborted) timer.abort();
    else signal.addEventListener('abort', abort, { once: true });
  }
  let upstream: Request;
  try {
    // Building the request first separates what the runtime refuses to send (the request's fault) from what
    // happens on the wire (the origin's).
    upstream = new Request(input.url, {
      method: input.method,
      headers: input.headers,
      body: input.body,
      redirect: 'manual',
      signal: timer.signal,
    });
  } catch (cause) {
    return { kind: 'client-fault', problem: new GatewayError('request-not-forwardable', {}, { cause }) };
  }
  // Outside the try: a failure here is the gateway's, not the request's.
  input.rewriteHeaders?.(upstream.headers);
  let timedOut = false;
  const timeout = setTimeout(() => {
    timedOut = true;
    timer.abort();
  }, input.timeoutMs);
  try {
    return { kind: 'response', response: await fetch(upstream) };
  } catch (cause) {
    if (clientFault?.aborted) return { kind: 'client-fault', problem: clientFault.reason as GatewayError };
    if (input.clientGone?.aborted) return { kind: 'client-fault', problem: new GatewayError('incomplete-body', {}, { cause }) };
    // Out of time while the client was still sending its body: the origin was waiting for the client.
    if (timedOut && input.clientBody?.pending) {
      return { kind: 'client-fault', problem: new GatewayError('request-timeout', { timeoutMs: input.timeoutMs }, { cause }) };
    }
    return { kind: 'origin-failure', failure: timedOut ? 'timeout' : 'connect-failure' };
  } finally {
    clearTimeout(timeout);
  }
}

/** A client's body on its way upstream, watched. */
export interface ClientBody {
  /** The stream to send upstream. */
  body: ReadableStream<Uint8Array>;
  /** Aborted, with the problem (a GatewayError) as its reason, when the client is at fault. */
  fault: AbortSignal;
  /** True until the body has arrived whole (or failed). */
  readonly pending: boolean;
}

export interface ClientBodyLimits {
  /** Largest body; one byte more and the upload is cut off with 413. */
  maxBytes: number;
  /** Longest wait for the next chunk of the body; longer and the upload is cut off with 408. */
  idleTimeoutMs: number;
}

/**
 * The client's body, passed through unchanged while it behaves. When it passes `maxBytes` (413), stalls for
 * `idleTimeoutMs` (408), or ends short or breaks (400), the returned `fault` signal is aborted with that problem as
 * its reason and the stream errors: the upstream request is aborted (a body stream that merely ends would let
 * workerd finish a chunked upload cleanly, and the origin would take the truncated body for the whole one), and the
 * exchange is classed as the client's fault.
 *
 * With a declared length the body is sent on with that length (not chunked), as the client sent it.
 */
export function guardClientBody(
  body: ReadableStream<Uint8Array>,
  declaredLength: number | undefined,
  limits: ClientBodyLimits,
): ClientBody {
  const fault = new AbortController();
  const state = { pending: true };
  const reader = body.getReader();
  let received = 0;
  const fail = (problem: GatewayError, controller: ReadableStreamDefaultController<Uint8Array>) => {
    state.pending = false;
    if (!fault.signal.aborted) fault.abort(problem);
    reader.cancel(problem).catch(() => {});
    // Ended, not errored: the aborted fault signal is what stops the upstream request and carries the problem
    // (an errored stream would also surface as an unhandled rejection inside the runtime's upload pump).
    controller.close();
  };
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), limits.idleTimeoutMs)));
      let next: ReadableStreamReadResult<Uint8Array> | 'idle';
      try {
        next = await Promise.race([reader.read(), idle]);
      } catch (cause) {
        return fail(new GatewayError('incomplete-body', {}, { cause }), controller);
      } finally {
        clearTimeout(timer);
      }
      if (next === 'idle') return fail(new GatewayError('request-timeout', { timeoutMs: limits.idleTimeoutMs }), controller);
      if (next.done) {
        if (declaredLength !== undefined && received < declaredLength) return fail(new GatewayError('incomplete-body'), controller);
        state.pending = false;
        return controller.close();
      }
      received += next.value.byteLength;
      if (received > limits.maxBytes) return fail(new GatewayError('payload-too-large', { limit: limits.maxBytes }), controller);
      controller.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  // A FixedLengthStream tells the runtime the length, so the origin gets Content-Length rather than chunks.
  const sent = declaredLength === undefined ? guarded : guarded.pipeThrough(new FixedLengthStream(declaredLength));
  return {
    body: sent,
    fault: fault.signal,
    get pending() {
      return state.pending;
    },
  };
}

/** Which side a relayed response body waited on for too long. */
export type IdleSide = 'origin' | 'client';

/**
 * Calls `release` exactly once: when `body` has been delivered to the client, when the client went away, when one
 * side kept the relay waiting too long (see below), or at once when there is no body. Returns the body to send
 * instead (the same bytes), or the original when nothing is held.
 *
 * Each side has its own bound: the origin, asked for its next chunk, must send one within `idleTimeoutMs`; the
 * client must take the last one within `clientIdleMs` (a client that reads slowly is not an origin that stalls, and
 * one that stops reading must not hold the request's slot and the origin's stream for ever). Past either, the
 * client's body ends in an error (the relay is aborted, the origin's body cancelled) and `onIdle` is called with the
 * side before `release`. The watch costs two `Date.now()` per chunk and one timer per idle period, not a timer per
 * chunk; only streamed bodies pay it (short ones never come here).
 */
export function releaseWhenDelivered(
  body: ReadableStream<Uint8Array> | null,
  length: number,
  encoded: boolean,
  release: () => void,
  waitUntil: (promise: Promise<unknown>) => void,
  idle?: { idleTimeoutMs: number; clientIdleMs: number; onIdle: (side: IdleSide) => void },
): ReadableStream<Uint8Array> | null {
  if (!body) {
    release();
    return null;
  }
  const relay = Number.isSafeInteger(length) && !encoded ? new FixedLengthStream(length) : new IdentityTransformStream();
  if (!idle) {
    waitUntil(body.pipeTo(relay.writable).then(release, release));
    return relay.readable;
  }
  const { idleTimeoutMs, clientIdleMs, onIdle } = idle;
  // The side the relay waits on now, and since when.
  let waitingOn: IdleSide = 'origin';
  let since = Date.now();
  let stalled: IdleSide | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reader = body.getReader();
  const writer = relay.writable.getWriter();
  // The relay is aborted first: the loop, woken by the cancelled read, must not close it as if the body were whole.
  const stop = (reason: unknown) => {
    writer.abort(reason).catch(() => {});
    reader.cancel(reason).catch(() => {});
  };
  // Re-armed for the time left of the current wait rather than reset on every chunk; never for longer than the
  // shorter bound, so a wait that changed side since is looked at in time.
  const shorter = Math.min(idleTimeoutMs, clientIdleMs);
  const check = () => {
    const limitMs = waitingOn === 'origin' ? idleTimeoutMs : clientIdleMs;
    const quietMs = Date.now() - since;
    if (quietMs < limitMs) {
      timer = setTimeout(check, Math.min(limitMs - quietMs, shorter));
      return;
    }
    stalled = waitingOn;
    stop(new Error(`${waitingOn} idle for ${limitMs} ms mid-body`));
  };
  timer = setTimeout(check, shorter);
  const relayAll = async () => {
    for (;;) {
      waitingOn = 'origin';
      since = Date.now();
      const next = await reader.read();
      if (next.done) return writer.close();
      waitingOn = 'client';
      since = Date.now();
      // Settles once the client has taken the chunk (the relay holds none).
      await writer.write(next.value);
    }
  };
  const delivered = relayAll()
    .catch((reason: unknown) => {
      stop(reason);
      throw reason;
    })
    .finally(() => clearTimeout(timer))
    .then(release, () => {
      if (stalled) onIdle(stalled);
      release();
    });
  waitUntil(delivered);
  return relay.readable;
}
