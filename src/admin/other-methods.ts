/** @module 405 with `Allow` for a gateway endpoint asked with a method it does not answer (RFC 9110 §15.5.6). */
import type { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';

/**
 * Registers, on every path a gateway endpoint answers, a last handler that refuses the other methods. Without it
 * such a request fell through to service routing and got a 404 saying no route is configured for `/metrics`.
 * Call it after every endpoint is registered. `/` is left out: the gateway's index gives way to a service route
 * that claims it. Credentials are still checked first (the guards are middleware), so the answer tells an
 * anonymous caller nothing about admin endpoints.
 */
export function refuseOtherMethods(app: Hono<AppEnv>): void {
  const methodsByPath = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === 'ALL' || path === '/') continue;
    let methods = methodsByPath.get(path);
    if (!methods) methodsByPath.set(path, (methods = new Set()));
    methods.add(method);
  }
  for (const [path, methods] of methodsByPath) {
    // Hono answers HEAD with the GET handler.
    if (methods.has('GET')) methods.add('HEAD');
    const allow = [...methods].join(', ');
    app.all(path, (c) => {
      throw new GatewayError('method-not-allowed', { method: c.req.method, path: c.req.path, allow }, { headers: { allow } });
    });
  }
}
