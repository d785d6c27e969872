/**
 * The shape of the chain in src/app.ts (issue 9): a proxied request matches one Hono layer (the edge; the service
 * chain is Hono's not-found handler), the admin guard only the admin paths, and the edge layer keeps the
 * semantics of the five layers it replaced.
 */
import { describe, expect, inject, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../src/app.ts';
import type { GatewayConfigInput } from '../src/config/schema.ts';
import type { AppEnv } from '../src/env.ts';
import { isGatewayPath, SERVICE_REQUEST_PATH } from '../src/policies/admin-host.ts';
import { ADMIN_HEADERS, gatewayFor, problemType } from './support/gateway.ts';

const [echo] = inject('echoOrigins');

/** The names of the handlers Hono runs, in order, for `method path` (as gatewayPath gives it). */
function layersFor(app: Hono<AppEnv>, method: string, path: string): string[] {
  const [handlers] = app.router.match(method, path) as unknown as [[[(...args: unknown[]) => unknown, unknown], unknown][]];
  return handlers.map(([[handler]]) => handler.name);
}

describe('the chain of a proxied request', () => {
  const app = createApp();

  it('is one Hono layer, the edge, so Hono runs it without composing a chain', () => {
    expect(layersFor(app, 'GET', SERVICE_REQUEST_PATH)).toEqual(['edge']);
    expect(layersFor(app, 'GET', '/bench/items/42')).toEqual(['edge']);
    expect(layersFor(app, 'POST', '/')).toEqual(['edge']);
  });

  // Hono's SmartRouter uses the first router that takes every route; a route its RegExpRouter cannot hold (the
  // catch-alls that once answered 405 on gateway paths) made every request pay the TrieRouter's slower match.
  it('is matched by Hono\'s RegExpRouter, which takes every route the gateway registers', () => {
    layersFor(app, 'GET', SERVICE_REQUEST_PATH);
    expect(app.router.name).toBe('SmartRouter + RegExpRouter');
  });

  it('routes every request for a service on one constant path: every gateway handler is on a gateway path', () => {
    const paths = new Set(app.routes.map((route) => route.path).filter((path) => path !== '/*'));
    expect(paths.size).toBeGreaterThan(30);
    for (const path of paths) expect(isGatewayPath(path.replace(/\/\*$/, '').replace(/\/:.*$/, '')), path).toBe(true);
    for (const path of ['/bench/items/42', '/gatewayx', '/api/gateway', '/metricsx']) expect(isGatewayPath(path), path).toBe(false);
  });

  it('passes through the admin guard only under the admin prefixes', () => {
    for (const path of ['/gateway', '/gateway/status', '/alerts/rules', '/health/services', '/services']) {
      expect(layersFor(app, 'GET', path), path).toContain('requireAdmin');
    }
    for (const path of ['/gatewayx', '/api/gateway', '/servicesx/a', SERVICE_REQUEST_PATH]) {
      expect(layersFor(app, 'GET', path), path).not.toContain('requireAdmin');
    }
  });
});

describe('the edge layer', () => {
  const config: GatewayConfigInput = {
    // The trailing flush sends each request's sums before the helper returns: counts are exact at once.
    gateway: { statePlane: { syncIntervalMs: 100, callTimeoutMs: 2_000, trailingFlush: true } },
    services: [{ name: 'keyed', routes: [{ pathPrefix: '/keyed' }], instances: [{ url: echo! }], policies: { auth: { mode: 'api-key' } } }],
  };
  const send = gatewayFor(config);

  it('renders a refusal of its own steps as a problem with the security headers and the request id, unrecorded', async () => {
    const response = await send('/keyed/x', { method: 'PROPFIND' });
    expect(response.status).toBe(501);
    expect(await problemType(response)).toBe('not-implemented');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Refused before routing: no record, so no Server-Timing.
    expect(response.headers.get('server-timing')).toBeNull();
  });

  it('records a refusal of the service chain as the problem the client got, with the security headers', async () => {
    const refused = await send('/keyed/x');
    expect(refused.status).toBe(401);
    expect(await problemType(refused)).toBe('unauthorized');
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    expect(refused.headers.get('server-timing')).toMatch(/total;dur=/);
    const metrics = await (await send('/metrics', { headers: ADMIN_HEADERS })).text();
    expect(metrics).toContain('gateway_request_outcomes_total{service="keyed",outcome="unauthorized"} 1');
  });
});
