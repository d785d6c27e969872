/** @module Finds the service route for the request, so every later step knows which service and route it is for. */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { statePlaneCounters } from '../state/infra/state-plane-metrics.ts';
import { requestUrlParts } from './request-url.ts';

/** Sets `c.var.route` (service, route, upstream path) or answers 404 / 405. */
export function routeRequest(): MiddlewareHandler<AppEnv> {
  // Not async: nothing here waits or acts after the chain, so it returns next()'s promise.
  return function routeRequest(c, next) {
    const gateway = c.get('gateway');
    const path = c.get('path');
    const method = c.req.method;
    const lookup = gateway.router.match(method, requestUrlParts(c.req.url).hostname, path);
    if (lookup.kind === 'not-found') throw new GatewayError('route-not-found', { path });
    if (lookup.kind === 'method-not-allowed') {
      const allow = lookup.allow.join(', ');
      throw new GatewayError('method-not-allowed', { method, path, allow }, { headers: { allow } });
    }
    c.set('route', lookup);
    // The denominator of the state plane's round trips per request.
    statePlaneCounters.requests += 1;
    return next();
  };
}
