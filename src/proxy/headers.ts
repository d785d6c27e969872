/** @module Headers across the trust boundary: hop-by-hop removal and forwarding headers from the real connection. */
import type { TraceContext } from '../observability/trace-context.ts';

/** RFC 9110 §7.6.1 connection-specific fields, plus the non-standard ones proxies still see. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * Claims about the client's address or the original request. Only the gateway may make them: client copies are
 * dropped and the gateway's own, taken from the connection, are set in their place.
 */
const CLIENT_ADDRESS_CLAIMS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'cf-connecting-ipv6',
];

/** Removes hop-by-hop headers, including every header the `Connection` header names (RFC 9110 §7.6.1). */
function removeHopByHop(headers: Headers, keepUpgrade: boolean): void {
  const connection = headers.get('connection');
  if (connection) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && !(keepUpgrade && name === 'upgrade')) headers.delete(name);
    }
  }
  for (const name of HOP_BY_HOP) {
    if (keepUpgrade && (name === 'upgrade' || name === 'connection')) continue;
    headers.delete(name);
  }
}

export interface ConnectionFacts {
  /** The client's address as the edge saw it, when known. */
  clientIp: string | undefined;
  /** Scheme of the client's request, without ":". */
  proto: string;
  /** Host (with port) the client asked for. */
  host: string;
  trace: TraceContext;
  /** A WebSocket handshake keeps its `Upgrade`/`Connection` pair, which the origin needs to switch protocols. */
  webSocket: boolean;
}

/** The headers sent to the origin: the client's minus hop-by-hop and address claims, plus the gateway's own. */
export function upstreamRequestHeaders(incoming: Headers, facts: ConnectionFacts): Headers {
  const headers = new Headers(incoming);
  removeHopByHop(headers, facts.webSocket);
  for (const name of CLIENT_ADDRESS_CLAIMS) headers.delete(name);

  if (facts.clientIp) headers.set('x-forwarded-for', facts.clientIp);
  headers.set('x-forwarded-proto', facts.proto);
  headers.set('x-forwarded-host', facts.host);
  headers.set('forwarded', forwardedElement(facts));
  headers.set('x-request-id', facts.trace.requestId);
  headers.set('traceparent', facts.trace.traceparent);
  return headers;
}

/** The origin's response headers minus hop-by-hop ones. */
export function downstreamResponseHeaders(upstream: Headers, trace: TraceContext): Headers {
  const headers = new Headers(upstream);
  removeHopByHop(headers, false);
  headers.set('x-request-id', trace.requestId);
  headers.set('traceparent', trace.traceparent);
  return headers;
}

/** RFC 7239 §4 element: `for="[2001:db8::1]";host="example.com:8443";proto=https`. */
function forwardedElement(facts: ConnectionFacts): string {
  const node = facts.clientIp ? (facts.clientIp.includes(':') ? `"[${facts.clientIp}]"` : facts.clientIp) : 'unknown';
  return `for=${node};host=${quoteIfNeeded(facts.host)};proto=${facts.proto}`;
}

// RFC 7230 token characters; anything else (":" in host:port, for one) must be a quoted-string.
function quoteIfNeeded(value: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}
