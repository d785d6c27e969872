/** @module Headers across the trust boundary: hop-by-hop removal and forwarding headers from the real connection. */
import type { Identity } from '../env.ts';
import type { TraceContext } from '../observability/trace-context.ts';
import type { IdentityForwarding } from '../policies/auth/identity.ts';

/** RFC 9110 §7.6.1 connection-specific fields, plus the non-standard ones proxies still see. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Claims about the client's address or the original request. Only the gateway may make them: client copies are
 * dropped and the gateway's own, taken from the connection, are set in their place.
 */
export const CLIENT_ADDRESS_CLAIMS: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'cf-connecting-ipv6',
]);

/**
 * The admin plane's credential that Cloudflare Access adds to every request it lets through
 * (src/policies/auth/cloudflare-access.ts). It is a bearer token for the admin API: an origin that received it could
 * replay it, so it never leaves the gateway.
 */
const ACCESS_ASSERTION = 'cf-access-jwt-assertion';

/**
 * Request headers only the gateway may set or pass on: the client address claims, and Access's assertion. Client
 * copies are dropped before forwarding, for every service.
 */
export const RESERVED_REQUEST_HEADERS: ReadonlySet<string> = new Set([...CLIENT_ADDRESS_CLAIMS, ACCESS_ASSERTION]);

/**
 * Access's session cookie holds the same token as the assertion, and Access itself accepts it on the protected
 * hostname: an origin that saw it could open the admin plane through Access. It is removed from `Cookie`; the
 * client's other cookies go through. Cookie names are case-sensitive, but any casing is removed (removing more can
 * only take access away).
 */
const ACCESS_COOKIE = /cf_authorization/i;
const ACCESS_COOKIE_PAIR = /^\s*cf_authorization\s*=/i;

function withoutAccessCookie(cookie: string): string {
  return (
    cookie
      .split(';')
      // Repeated Cookie headers arrive joined by ", ": a pair can follow a comma too (cookie values have none, RFC
      // 6265 §4.1.1, but a non-conforming one is kept as it was).
      .map((pairs) => pairs.split(',').filter((pair) => !ACCESS_COOKIE_PAIR.test(pair)).join(',').trim())
      .filter((pairs) => pairs !== '')
      .join('; ')
  );
}

/**
 * The request header names forwarding may have to remove or edit, given every name a service reserves: the
 * hop-by-hop ones, `Connection` (and what it names), `Cookie` (Access's session cookie), `Via` (the gateway adds
 * its entry) and the reserved names.
 * Edge hygiene, which reads every header anyway, keeps the client's headers with these names (usually none), and
 * every name with a `_` (see isReserved), so forwarding looks at those instead of reading the whole list from the
 * runtime again.
 */
export function namesForwardingReviews(reserved: Iterable<ReadonlySet<string>>): ReadonlySet<string> {
  const names = new Set([...HOP_BY_HOP, 'cookie', 'via', ...RESERVED_REQUEST_HEADERS]);
  for (const set of reserved) for (const name of set) names.add(name);
  return names;
}

/**
 * Whether `name` is a reserved name, or one spelled with `_` for any `-` (`X_User_Id`, `x_user-id`): CGI, WSGI, Rack
 * and PHP origins read them all as one variable (HTTP_X_USER_ID), so a client's `X_User_Id` could stand in for the
 * gateway's `X-User-Id` (or override it).
 */
function isReserved(name: string, reserved: ReadonlySet<string>): boolean {
  return reserved.has(name) || (name.includes('_') && reserved.has(name.replaceAll('_', '-')));
}

/**
 * Removes from `headers` the hop-by-hop headers, every header the `Connection` header names (RFC 9110 §7.6.1)
 * and any name in `alsoRemove`. Only names actually present are deleted: each Headers call crosses into the
 * runtime, and deleting a fixed list on every request cost more than the rest of the header work.
 */
function removeConnectionHeaders(
  headers: Headers,
  alsoRemove: ReadonlySet<string> | undefined,
  keepUpgrade: boolean,
  entries: readonly (readonly [string, string])[] = [...headers],
): void {
  for (const [name, value] of entries) {
    if (name === 'connection') {
      for (const token of value.split(',')) {
        const named = token.trim().toLowerCase();
        if (named && !(keepUpgrade && named === 'upgrade')) headers.delete(named);
      }
      if (!keepUpgrade) headers.delete(name);
    } else if (!(keepUpgrade && name === 'upgrade') && (HOP_BY_HOP.has(name) || (alsoRemove !== undefined && isReserved(name, alsoRemove)))) {
      headers.delete(name);
    } else if (name === 'cookie' && ACCESS_COOKIE.test(value)) {
      const kept = withoutAccessCookie(value);
      if (kept) headers.set(name, kept);
      else headers.delete(name);
    }
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
  /** This gateway's `Via` entry, `1.1 <pseudonym>` (EdgeRules.viaEntry). */
  via: string;
}

export interface UpstreamHeaderOptions {
  /** The service's identity headers; without it only the client address claims are reserved. */
  forwarding?: IdentityForwarding;
  /** The authenticated caller, whose identity headers are set. */
  identity?: Identity | undefined;
  /**
   * `incoming`'s entries with a name in {@link namesForwardingReviews} (edge hygiene keeps them as it reads every
   * header), so that the rest need not be read from the runtime again; all of them are read when absent.
   */
  entries?: readonly (readonly [string, string])[] | undefined;
}

/**
 * The headers sent to the origin: the client's minus hop-by-hop headers, address claims and identity headers, plus
 * the gateway's own. Identity headers are set from `identity` (the authenticated caller) only, after every client
 * copy has gone, also one the client named in `Connection`.
 */
export function upstreamRequestHeaders(incoming: Headers, facts: ConnectionFacts, options: UpstreamHeaderOptions = {}): Headers {
  const headers = new Headers(incoming);
  rewriteRequestHeaders(headers, facts, options);
  return headers;
}

/**
 * {@link upstreamRequestHeaders} in place, on a copy of the client's headers the caller already has: the upstream
 * `Request` copies its headers when it is built, so editing that copy is the one copy a forwarded request costs.
 */
export function rewriteRequestHeaders(headers: Headers, facts: ConnectionFacts, options: UpstreamHeaderOptions = {}): void {
  const { forwarding, identity, entries } = options;
  removeConnectionHeaders(headers, forwarding?.reserved ?? RESERVED_REQUEST_HEADERS, facts.webSocket, entries);
  if (identity && forwarding) {
    // Indexed: no iterator per identity header per request (see applySecurityHeaders).
    for (let i = 0; i < forwarding.headers.length; i++) {
      const header = forwarding.headers[i]!;
      const value = header[1](identity);
      if (value) headers.set(header[0], headerSafe(value));
    }
  }

  const address = ipAddressOf(facts.clientIp);
  if (address !== undefined) headers.set('x-forwarded-for', address);
  headers.set('x-forwarded-proto', facts.proto);
  headers.set('x-forwarded-host', facts.host);
  headers.set('forwarded', forwardedElement(address, facts));
  headers.set('x-request-id', facts.trace.requestId);
  headers.set('traceparent', facts.trace.traceparent);
  // RFC 9110 §7.6.3: the gateway's entry after those of the proxies before it. The client's `Via` is read only when
  // it sent one (edge hygiene's entries say; usually none), and after the removals above (`Connection` may name it).
  const prior = entries === undefined || hasEntry(entries, 'via') ? headers.get('via') : null;
  headers.set('via', prior ? `${prior}, ${facts.via}` : facts.via);
}

function hasEntry(entries: readonly (readonly [string, string])[], name: string): boolean {
  for (let i = 0; i < entries.length; i++) if (entries[i]![0] === name) return true;
  return false;
}

/** Hop-by-hop names a response can carry without naming them in `Connection`. */
const RESPONSE_HOP_BY_HOP = [...HOP_BY_HOP].filter((name) => name !== 'connection');

/**
 * Makes the origin's response headers (a mutable copy) fit for the client: no hop-by-hop ones, the ids added.
 * Asks for the few names directly instead of listing every header: each entry read crosses into the runtime and
 * allocates, and a response usually has none of them.
 */
export function prepareResponseHeaders(headers: Headers, trace: TraceContext): void {
  const connection = headers.get('connection');
  if (connection !== null) {
    for (const token of connection.split(',')) {
      const named = token.trim().toLowerCase();
      if (named) headers.delete(named);
    }
    headers.delete('connection');
  }
  for (let i = 0; i < RESPONSE_HOP_BY_HOP.length; i++) if (headers.has(RESPONSE_HOP_BY_HOP[i]!)) headers.delete(RESPONSE_HOP_BY_HOP[i]!);
  headers.set('x-request-id', trace.requestId);
  headers.set('traceparent', trace.traceparent);
}

// RFC 7239 §6 nodename: an IPv4 address, or an IPv6 one (bracketed and quoted below).
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * The client's address when it is an IP address, else undefined: where the address header is not set by a trusted
 * edge a client chooses it, and `6.6.6.6;host=evil.example` would otherwise add its own parameters (or, with a
 * comma, elements) to `Forwarded`, and whatever it likes to `X-Forwarded-For`.
 */
function ipAddressOf(clientIp: string | undefined): string | undefined {
  if (!clientIp) return undefined;
  return IPV4.test(clientIp) || (clientIp.includes(':') && IPV6.test(clientIp)) ? clientIp : undefined;
}

/** RFC 7239 §4 element: `for="[2001:db8::1]";host="example.com:8443";proto=https`; `for=unknown` without an address. */
function forwardedElement(address: string | undefined, facts: ConnectionFacts): string {
  const node = address === undefined ? 'unknown' : address.includes(':') ? `"[${address}]"` : address;
  return `for=${node}${forwardedHostAndProto(facts.host, facts.proto)}`;
}

/** `;host=…;proto=…` by proto and host: hosts repeat, so the quoting test runs once per host, not per request. */
const hostAndProtoElements = new Map<string, string>();
const MAX_REMEMBERED_HOSTS = 256;

function forwardedHostAndProto(host: string, proto: string): string {
  const key = `${proto} ${host}`;
  let element = hostAndProtoElements.get(key);
  if (element === undefined) {
    // Bounded: a client choosing Host values (where any host is allowed) cannot grow it without limit.
    if (hostAndProtoElements.size >= MAX_REMEMBERED_HOSTS) hostAndProtoElements.clear();
    element = `;host=${quoteIfNeeded(host)};proto=${proto}`;
    hostAndProtoElements.set(key, element);
  }
  return element;
}

// RFC 7230 token characters; anything else (":" in host:port, for one) must be a quoted-string.
function quoteIfNeeded(value: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * A header value made safe: when it has characters outside visible ASCII and space, those (and `%`) are
 * percent-encoded as UTF-8, so no claim can split a header (CR, LF) or make the runtime refuse it (NUL).
 */
export function headerSafe(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  return value.replace(/[^\x20-\x24\x26-\x7e]/gu, (char) => {
    try {
      return encodeURIComponent(char);
    } catch {
      return '%EF%BF%BD'; // a lone surrogate: U+FFFD
    }
  });
}
