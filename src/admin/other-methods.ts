/** @module 405 with `Allow` for a gateway endpoint asked with a method it does not answer (RFC 9110 §15.5.6). */
import type { Hono } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { shownPath } from '../routing/route-request.ts';

/**
 * The refusal for a gateway path asked with another method than its endpoints answer, from the endpoints
 * registered on `app` so far (call it after the last one): `refusal(method, path)` is the 405 problem, or
 * undefined when no endpoint has that path (it then goes to service routing, whose 404 it gets). Without it such a
 * request got a 404 saying no route is configured for `/metrics`. `/` is left out: the gateway's index gives way to
 * a service route that claims it.
 *
 * Its own router, consulted only for a gateway path no endpoint answered: catch-all routes added to the app's router
 * made Hono fall back from its RegExpRouter to its TrieRouter for every request, proxied ones included (the bench's
 * ledger showed the trie's matching, about 5 µs profiled per request).
 */
export function otherMethodsRefusal(app: Hono<AppEnv>): (method: string, path: string) => GatewayError | undefined {
  const methodsByPath = new Map<string, Set<string>>();
  for (const { method, path } of app.routes) {
    if (method === 'ALL' || path === '/') continue;
    let methods = methodsByPath.get(path);
    if (!methods) methodsByPath.set(path, (methods = new Set()));
    methods.add(method);
  }
  const router = new TrieRouter<string>();
  for (const [path, methods] of methodsByPath) {
    // Hono answers HEAD with the GET handler.
    if (methods.has('GET')) methods.add('HEAD');
    router.add('ALL', path, [...methods].join(', '));
  }
  return (method, path) => {
    const allow = router.match(method, path)[0][0]?.[0];
    if (allow === undefined) return undefined;
    return new GatewayError('method-not-allowed', { method: method.slice(0, 32), path: shownPath(path), allow }, { headers: { allow } });
  };
}
