/** @module Finds the service route for the request, so every later step knows which service and route it is for. */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { statePlaneCounters } from '../state/infra/state-plane-metrics.ts';
import { requestUrlParts } from './request-url.ts';

/**
 * Sets `c.var.route` (service, route, upstream path) or throws the 404 / 405 problem. The first step of the service
 * chain's layer (src/app.ts): nothing here waits or acts after the chain, so it is a plain call, not a layer.
 */
export function routeRequest(c: Context<AppEnv>): void {
  const gateway = c.get('gateway');
  const path = c.get('path');
  const method = c.req.method;
  const lookup = gateway.router.match(method, requestUrlParts(c.req.url).hostname, path);
  if (lookup.kind === 'not-found') throw new GatewayError('route-not-found', { path: shownPath(path) });
  if (lookup.kind === 'method-not-allowed') {
    const allow = lookup.allow.join(', ');
    throw new GatewayError('method-not-allowed', { method: method.slice(0, 32), path: shownPath(path), allow }, { headers: { allow } });
  }
  c.set('route', lookup);
  // The denominator of the state plane's round trips per request.
  statePlaneCounters.requests += 1;
}

/** Longest path a refusal repeats: enough to recognise it, not a 60 KB echo of whatever a client sent. */
const SHOWN_PATH_CHARS = 256;

/** `path` as a refusal shows it: cut at SHOWN_PATH_CHARS, with an ellipsis when it was. */
export function shownPath(path: string): string {
  return path.length <= SHOWN_PATH_CHARS ? path : `${path.slice(0, SHOWN_PATH_CHARS)}…`;
}
