/**
 * @module Edge hygiene, before anything else looks at a request: allowed hosts, header size and control characters,
 * encoded CR/LF in the path, forwarding loops, and the request body limit.
 */
import type { Context } from 'hono';
import type { GatewaySettings } from '../config/schema.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { namesForwardingReviews } from '../proxy/headers.ts';
import { guardClientBody, noteClientFault } from '../proxy/upstream-exchange.ts';
import { requestUrlParts } from '../routing/request-url.ts';

/** The gateway-level rules, compiled once per configuration version. */
export class EdgeRules {
  readonly #exactHosts: ReadonlySet<string>;
  /** `*.example.com` → `.example.com`. */
  readonly #hostSuffixes: readonly string[];
  readonly anyHost: boolean;
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  readonly bodyIdleTimeoutMs: number;
  /** `1.1 <pseudonym>`: this gateway's entry in the `Via` of a forwarded request. */
  readonly viaEntry: string;
  readonly viaPseudonym: string;
  readonly #maxPasses: number;
  /** Header names forwarding may have to remove or edit (namesForwardingReviews in src/proxy/headers.ts). */
  readonly reviewedHeaderNames: ReadonlySet<string>;

  constructor(settings: GatewaySettings, reviewedHeaderNames: ReadonlySet<string> = namesForwardingReviews([])) {
    this.reviewedHeaderNames = reviewedHeaderNames;
    this.anyHost = settings.allowedHosts.length === 0;
    this.#exactHosts = new Set(settings.allowedHosts.filter((host) => !host.startsWith('*.')));
    this.#hostSuffixes = settings.allowedHosts.filter((host) => host.startsWith('*.')).map((host) => host.slice(1));
    this.maxBodyBytes = settings.limits.maxBodyBytes;
    this.maxHeaderBytes = settings.limits.maxHeaderBytes;
    this.bodyIdleTimeoutMs = settings.limits.bodyIdleTimeoutMs;
    // `1.1`: the version of the request as the Worker receives it. The client's own (`request.cf.httpProtocol`) is
    // not read for it: a `cf` read costs more than the rest of the request context (enterRequestContext).
    this.viaEntry = `1.1 ${settings.via.pseudonym}`;
    this.viaPseudonym = settings.via.pseudonym;
    this.#maxPasses = settings.via.maxPasses;
  }

  /**
   * How many times `via` names this gateway, when that is `maxPasses` or more (the request has come back to it too
   * often: a forwarding loop), else undefined. Entries are `protocol received-by [comment]` (RFC 9110 §7.6.3).
   */
  loopedPasses(via: string): number | undefined {
    if (!via.includes(this.viaPseudonym)) return undefined;
    let passes = 0;
    for (const entry of via.split(',')) {
      const receivedBy = entry.trim().split(/[ \t]+/)[1];
      if (receivedBy === this.viaPseudonym) passes++;
    }
    return passes >= this.#maxPasses ? passes : undefined;
  }

  /** `hostname`: lower case, without port. */
  allowsHost(hostname: string): boolean {
    if (this.anyHost || this.#exactHosts.has(hostname)) return true;
    return this.#hostSuffixes.some((suffix) => hostname.endsWith(suffix) && hostname.length > suffix.length);
  }
}

// RFC 9110 §5.5: field values are visible characters, spaces and tabs. The runtime already refuses NUL, bare CR
// and obs-fold (400 before the Worker runs) and splits on bare LF; other control characters reach the Worker.
const CONTROL_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Refuses, in this order and before routing or authentication:
 * - a host not in `gateway.allowedHosts` (421),
 * - an encoded CR or LF in the path (400 `invalid-path`; `%00` is already refused by normalisation),
 * - request headers larger than `limits.maxHeaderBytes` in total (431) or with a control character (400),
 * - a request whose `Via` shows it has passed through this gateway `via.maxPasses` times already (508
 *   `forwarding-loop`): an instance URL that leads back to the gateway would otherwise nest requests without end,
 * - a body on GET or HEAD (400 `body-not-allowed`; `Content-Length: 0` and an empty chunked body are no body): the
 *   runtime will not send one upstream, and a request that cannot be sent must never count as the origin's failure;
 * - a body larger than `limits.maxBodyBytes` (413): by `Content-Length` at once, before any byte of it is read, or
 *   counted as it streams; a body that stalls for `limits.bodyIdleTimeoutMs` (408) or ends short (400). The stream
 *   is guarded (never buffered) and the upstream request aborted when the client is at fault, see guardClientBody.
 *
 * A step of the edge layer (src/app.ts), after the request context: it throws the refusal, or returns (a promise only
 * for a GET or HEAD with a chunked body, which must be read to tell whether it is empty).
 */
export function checkEdgeHygiene(c: Context<AppEnv>): void | Promise<void> {
  const gateway = c.get('gateway');
  const path = c.get('path');
  const rules = gateway.edge;
  if (!rules.anyHost) {
    const { hostname } = requestUrlParts(c.req.url);
    if (!rules.allowsHost(hostname)) throw new GatewayError('host-not-allowed', { host: hostname.slice(0, 253) });
  }
  if (path.includes('%0') && /%0[AD]/.test(path)) throw new GatewayError('invalid-path');

  const request = c.req.raw;
  // Every header is read here, once: forwarding gets the few it may have to remove or edit (usually none), so it
  // need not read them all again. forEach, not a spread: no array per header (about half the cost, and a
  // kilobyte less garbage per request).
  const reviewed: [string, string][] = [];
  let headerBytes = 0;
  let controlCharacter = false;
  let via: string | undefined;
  request.headers.forEach((value, name) => {
    headerBytes += name.length + value.length;
    if (CONTROL_CHARACTER.test(value)) controlCharacter = true;
    // A name with `_` may spell a reserved one (isReserved in src/proxy/headers.ts): rare, so kept for review too.
    if (rules.reviewedHeaderNames.has(name) || name.includes('_')) {
      reviewed.push([name, value]);
      if (name === 'via') via = value;
    }
  });
  if (controlCharacter) throw new GatewayError('invalid-header');
  if (headerBytes > rules.maxHeaderBytes) throw new GatewayError('headers-too-large', { limit: rules.maxHeaderBytes });
  if (via !== undefined) {
    const passes = rules.loopedPasses(via);
    if (passes !== undefined) throw new GatewayError('forwarding-loop', { passes, pseudonym: rules.viaPseudonym });
  }
  c.set('requestHeaders', reviewed);

  if (request.body !== null) {
    const declared = request.headers.get('content-length');
    // RFC 9110 §9.3.1: a body on GET has no defined meaning, and workerd refuses to send one.
    if (request.method === 'GET' || request.method === 'HEAD') {
      // `Content-Length: 0` declares no content (RFC 9110 §8.6), and some clients send it on every request, but
      // workerd still hands over an (empty) body, which it would refuse to send upstream: the request goes on
      // without one.
      if (declared === '0') return withoutBody(c, request);
      // Without a length (chunked), only reading tells an empty body from one with content: some clients send
      // `Transfer-Encoding: chunked` and no chunk on every request.
      if (declared === null) return refuseUnlessEmpty(c, request, rules.bodyIdleTimeoutMs);
      throw noteClientFault(new GatewayError('body-not-allowed', { method: request.method }), c.get('trace').requestId);
    }
    const declaredLength = declared === null ? undefined : Number(declared);
    if (declaredLength !== undefined && declaredLength > rules.maxBodyBytes) {
      throw new GatewayError('payload-too-large', { limit: rules.maxBodyBytes });
    }
    const guarded = guardClientBody(request.body, declaredLength, { maxBytes: rules.maxBodyBytes, idleTimeoutMs: rules.bodyIdleTimeoutMs });
    c.req.raw = new Request(request, { body: guarded.body });
    c.set('clientBody', guarded);
  }
}

/** The request without its empty body. `cf` is kept for the read plane's colo; the signal, for a client that leaves. */
function withoutBody(c: Context<AppEnv>, request: Request): void {
  c.req.raw = new Request(request.url, { method: request.method, headers: request.headers, signal: request.signal, cf: request.cf });
}

/**
 * A GET or HEAD with a body of unknown length goes on without it when the body turns out empty; one with any content
 * gets 400 `body-not-allowed`, one that stalls for `idleTimeoutMs` 408, one cut off 400 `incomplete-body`: all the
 * client's faults, refused before routing.
 */
async function refuseUnlessEmpty(c: Context<AppEnv>, request: Request, idleTimeoutMs: number): Promise<void> {
  // The client body guard with room for no byte: it stops at the first one, or at the idle timeout, or at a break.
  const guarded = guardClientBody(request.body!, undefined, { maxBytes: 0, idleTimeoutMs });
  await new Response(guarded.body).arrayBuffer();
  if (guarded.fault.aborted) {
    const problem = guarded.fault.reason as GatewayError;
    const refusal = problem.kind === 'payload-too-large' ? new GatewayError('body-not-allowed', { method: request.method }) : problem;
    throw noteClientFault(refusal, c.get('trace').requestId);
  }
  withoutBody(c, request);
}
