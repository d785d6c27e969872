/** @module First in the chain: ids, the normalised path and the configuration every later step relies on. */
import type { Context } from 'hono';
import { configSource } from '../control-plane/config-source.ts';
import type { AppEnv } from '../env.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { GatewayError } from '../errors/problem.ts';
import { noteIsolateStart } from '../observability/isolate-uptime.ts';
import { traceContextFrom } from '../observability/trace-context.ts';
import { InvalidPathError, normalizePath } from '../routing/normalize-path.ts';
import { rawPathOf } from '../routing/request-url.ts';
import { isSupportedMethod, isValidHost } from '../routing/request-target.ts';
import { noteClientFault } from '../proxy/upstream-exchange.ts';
import type { IsolatePlace } from '../state/infra/location-hints.ts';
import { noteIsolatePlace } from '../state/clients/tier.ts';
import { defaultIsolateContext } from '../state/infra/isolate-context.ts';

/**
 * Sets `trace` (request id and trace context, echoed on every response), `path` (normalised) and `gateway`
 * (the compiled configuration). A malformed `Host` (400), an unsupported method (501) and a path with no canonical
 * form (400) are refused here (thrown), before anything acts on them. Returns a promise only while the
 * configuration is loading (an isolate's first request of a version); every other request is set up synchronously.
 * The first step of the edge layer (src/app.ts).
 */
export function enterRequestContext(c: Context<AppEnv>, waitUntil: (promise: Promise<unknown>) => void): void | Promise<void> {
  noteIsolateStart(Date.now());
  // The location tier needs the isolate's region: the first request's `cf` tells it (absent locally). Read only
  // until then: `request.cf` is a runtime getter (deployed, parsed from JSON on a request's first read) and
  // reading it on every request cost more than the rest of this function (the bench's ledger, routing: 20 µs).
  if (!defaultIsolateContext.placeKnown) noteIsolatePlace(c.req.raw.cf as IsolatePlace | undefined);
  const trace = traceContextFrom(c.req.raw.headers);
  c.set('trace', trace);
  checkRequestTarget(c.req.raw, trace.requestId);
  const runtime = configSource(c.env).current(c.env, waitUntil);
  if (runtime instanceof Promise) return runtime.then((gateway) => withGateway(c, gateway));
  withGateway(c, runtime);
}

/** The rest of the context, once the configuration is known: the normalised path. */
function withGateway(c: Context<AppEnv>, gateway: GatewayRuntime): void {
  c.set('gateway', gateway);
  const rawPath = rawPathOf(c.req.url);
  try {
    c.set('path', normalizePath(rawPath));
  } catch (error) {
    if (error instanceof InvalidPathError) throw new GatewayError('invalid-path', {}, { cause: error });
    throw error;
  }
  if (gateway.config.gateway.escapedSlashes === 'reject' && /%2f|%5c/i.test(rawPath)) {
    throw new GatewayError('invalid-path');
  }
}

/**
 * The runtime builds the request URL from the `Host` header: a Host that is not `host[:port]` (RFC 9110 §7.2) could
 * move the path (`Host: example.com/gateway`) or break the URL, so it is refused before anything reads the URL.
 */
function checkRequestTarget(request: Request, requestId: string): void {
  if (!isSupportedMethod(request.method)) {
    throw noteClientFault(new GatewayError('not-implemented', { method: request.method.slice(0, 32) }, { headers: { allow: ALLOW } }), requestId);
  }
  const host = request.headers.get('host');
  // Absent only for requests made inside the runtime (tests, service bindings): their URL is their own.
  if (host === null) return;
  // Clients of one isolate send the same few Host values: the last valid one is remembered (per isolate; a
  // valid Host stays valid) so the regular expression runs only when the Host changes.
  if (host === lastValidHost) return;
  if (!isValidHost(host)) throw noteClientFault(new GatewayError('invalid-host'), requestId);
  lastValidHost = host;
}

let lastValidHost: string | undefined;

const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
