/** @module Last in the chain: forwards the request to the service its route leads to. */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { waitUntilOf } from '../middleware/wait-until.ts';
import { syncServiceState } from '../state/clients/sync-service-state.ts';
import { forward } from './forward.ts';
import { rewriteRequestHeaders } from './headers.ts';
import { requestUrlParts } from '../routing/request-url.ts';

/**
 * The end of the service chain: answers with the forward's promise. Not an async function: it has nothing to wait
 * for before forwarding, and returning the promise spares an async frame and its resumption per request.
 */
export function proxyToService(c: Context<AppEnv>): Promise<Response> {
  // c.get, not c.var: Hono builds a new object from all variables on every c.var access.
  const gateway = c.get('gateway');
  const route = c.get('route');
  const trace = c.get('trace');
  const url = requestUrlParts(c.req.url);

  // RFC 6455 §4.1: a handshake is a GET. On any other method `Upgrade` is dropped as the hop-by-hop header it is:
  // workerd's fetch would otherwise turn the request into a bodiless GET handshake, so the origin would see
  // another method than the one routed and authorized, and no body.
  const webSocket = c.req.method === 'GET' && c.req.header('upgrade')?.toLowerCase() === 'websocket';
  const facts = {
    clientIp: c.req.header(gateway.config.gateway.clientIpHeader),
    proto: url.protocol,
    host: url.host,
    trace,
    webSocket,
    via: gateway.edge.viaEntry,
  };
  const headerOptions = {
    forwarding: gateway.auth.service(route.service.name).forwarding,
    identity: c.get('identity'),
    entries: c.get('requestHeaders'),
  };
  const declaredLength = c.req.header('content-length');
  const pool = gateway.pools.get(route.service.name)!;
  // The concurrency slot, when the service has a limit: released on delivery, or below if the forward fails.
  const release = c.get('releaseOnDelivery');
  const waitUntil = waitUntilOf(c);
  // Outcomes reach the service's object in the background, at most once per sync interval.
  syncServiceState(c.env, pool, gateway.config.gateway.statePlane, waitUntil);
  const forwarding = forward(
    pool,
    {
      method: c.req.method,
      path: route.upstreamPath,
      search: url.search,
      // Each attempt's upstream Request copies the client's headers once; the rewrite edits that copy.
      headers: c.req.raw.headers,
      rewriteHeaders: (headers) => rewriteRequestHeaders(headers, facts, headerOptions),
      body: c.req.raw.body,
      contentLength: declaredLength === undefined ? undefined : Number(declaredLength),
      trace,
      webSocket,
      observation: c.get('observation'),
      clientBody: c.get('clientBody'),
      // Aborted by the runtime when the client disconnects (compatibility flag enable_request_signal).
      clientGone: c.req.raw.signal,
      clientIdleMs: gateway.config.gateway.limits.bodyIdleTimeoutMs,
      onDelivered: release,
    },
    waitUntil,
  );
  // When the client disconnects, the runtime may cancel this handler: nothing after an await runs, unless the
  // promise it waits on was registered with waitUntil. A request with a body is kept alive that way, so its upload
  // is aborted and what it holds given back as before. A bodiless one (most requests) is not: the waitUntil cost
  // 0.04-0.07 of the pass-through's throughput (docs/performance.md), and its attempts are watched instead
  // (waiting-attempts.ts). A response body's delivery releases both on its own (see releaseWhenDelivered).
  if (c.req.raw.body !== null) waitUntil(forwarding.catch(() => release?.()));
  return forwarding;
}

