/** @module Request id and W3C Trace Context: kept when the client sent valid ones, generated otherwise. */
import { randomHex, randomUuid } from './random-ids.ts';

export interface TraceContext {
  /** `X-Request-Id`: the client's when it is a sane token, else a new UUID. */
  requestId: string;
  /** W3C trace id, 32 lower-case hex digits, continued from the client's `traceparent` when valid. */
  traceId: string;
  /** Span id of the gateway's hop, 16 hex digits; the origin sees it as its parent. */
  spanId: string;
  /** Trace flags (sampled bit) as two hex digits. */
  flags: string;
  /** Whether the trace id (and flags) are the caller's, from a valid `traceparent`; false when the gateway started the trace. */
  fromCaller: boolean;
  /** The `traceparent` the gateway sends upstream and returns to the client. */
  traceparent: string;
}

// Visible ASCII only, bounded: a request id ends up in logs and headers, so nothing that could split them.
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;
// W3C Trace Context §3.2: version-traceid-parentid-flags; version ff and all-zero ids are invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Reads or creates the request's ids from its headers. */
export function traceContextFrom(headers: Headers): TraceContext {
  const clientRequestId = headers.get('x-request-id');
  const requestId = clientRequestId && REQUEST_ID.test(clientRequestId) ? clientRequestId : randomUuid();

  let traceId: string | undefined;
  let flags = '01';
  const parsed = TRACEPARENT.exec(headers.get('traceparent')?.trim() ?? '');
  if (parsed) {
    const [, version, clientTraceId, parentId, clientFlags, rest] = parsed as unknown as string[];
    const valid =
      version !== 'ff' &&
      (version !== '00' || rest === undefined) &&
      !/^0+$/.test(clientTraceId!) &&
      !/^0+$/.test(parentId!);
    if (valid) {
      traceId = clientTraceId!;
      flags = clientFlags!;
    }
  }
  const fromCaller = traceId !== undefined;
  traceId ??= randomHex(16);
  const spanId = randomHex(8);
  return { requestId, traceId, spanId, flags, fromCaller, traceparent: `00-${traceId}-${spanId}-${flags}` };
}
