/** @module Last in the chain: forwards the request to the service its route leads to. */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import { forward } from './forward.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { requestUrlParts } from '../routing/request-url.ts';

export function proxyToService(): MiddlewareHandler<AppEnv> {
  return async function proxyToService(c) {
    const { gateway, route, trace } = c.var;
    const url = requestUrlParts(c.req.url);

    const webSocket = c.req.header('upgrade')?.toLowerCase() === 'websocket';
    const headers = upstreamRequestHeaders(
      c.req.raw.headers,
      {
        clientIp: c.req.header(gateway.config.gateway.clientIpHeader),
        proto: url.protocol,
        host: url.host,
        trace,
        webSocket,
      },
      { forwarding: gateway.auth.service(route.service.name).forwarding, identity: c.var.identity, entries: c.var.requestHeaders },
    );
    const declaredLength = c.req.header('content-length');
    return forward(
      gateway.pools.get(route.service.name)!,
      {
        method: c.req.method,
        path: route.upstreamPath,
        search: url.search,
        headers,
        body: c.req.raw.body,
        contentLength: declaredLength === undefined ? undefined : Number(declaredLength),
        trace,
        webSocket,
        ...(c.var.uploadSignal ? { signal: c.var.uploadSignal } : {}),
      },
      waitUntilOf(c),
    );
  };
}

/** `c.executionCtx.waitUntil`, or awaiting nothing where there is no execution context (`app.request()` in tests). */
function waitUntilOf(c: Context<AppEnv>): (promise: Promise<unknown>) => void {
  try {
    const ctx = c.executionCtx;
    return (promise) => ctx.waitUntil(promise);
  } catch {
    return () => {};
  }
}

