import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../src/config/load.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { rewritePath, Router } from '../../src/routing/router.ts';
import { seededRandom } from '../support/random.ts';

const instances = [{ url: 'http://127.0.0.1:9' }];

function routerFor(services: GatewayConfigInput['services']): Router {
  return new Router(parseGatewayConfig({ services }).services);
}

const router = routerFor([
  { name: 'catch-all', routes: [{ pathPrefix: '/' }], instances },
  { name: 'samples', routes: [{ pathPrefix: '/samples' }], instances },
  { name: 'sample-files', routes: [{ pathPrefix: '/samples/files', stripPrefix: true }], instances },
  { name: 'reports', routes: [{ pathPrefix: '/reports', methods: ['GET', 'HEAD'] }], instances },
  { name: 'tenant', routes: [{ pathPrefix: '/samples', hosts: ['*.tenant.example'] }], instances },
]);

function serviceOf(method: string, host: string, path: string): string {
  const lookup = router.match(method, host, path);
  return lookup.kind === 'match' ? lookup.service.name : lookup.kind;
}

describe('Router', () => {
  it('lets the longest prefix win', () => {
    expect(serviceOf('GET', 'api.example', '/samples/files/a.txt')).toBe('sample-files');
    expect(serviceOf('GET', 'api.example', '/samples/42')).toBe('samples');
    expect(serviceOf('GET', 'api.example', '/other')).toBe('catch-all');
  });

  it('matches prefixes on segment boundaries', () => {
    expect(serviceOf('GET', 'api.example', '/samples')).toBe('samples');
    expect(serviceOf('GET', 'api.example', '/samplesX')).toBe('catch-all');
    expect(serviceOf('GET', 'api.example', '/samples/filesX')).toBe('samples');
  });

  it('prefers a host-specific route over a host-less one with the same prefix', () => {
    expect(serviceOf('GET', 'a.tenant.example', '/samples/1')).toBe('tenant');
    expect(serviceOf('GET', 'tenant.example', '/samples/1')).toBe('samples');
  });

  it('answers method-not-allowed with the allowed methods when only the method differs', () => {
    const strict = routerFor([{ name: 'reports', routes: [{ pathPrefix: '/reports', methods: ['GET', 'HEAD'] }], instances }]);
    expect(strict.match('DELETE', 'h', '/reports/1')).toEqual({ kind: 'method-not-allowed', allow: ['GET', 'HEAD'] });
    expect(strict.match('GET', 'h', '/nothing')).toEqual({ kind: 'not-found' });
  });

  it('falls through to a shorter route that accepts the method', () => {
    expect(serviceOf('DELETE', 'h', '/reports/1')).toBe('catch-all');
  });

  it('builds the upstream path from the normalised path', () => {
    const lookup = router.match('GET', 'h', '/samples/files/a/b');
    expect(lookup.kind === 'match' && lookup.upstreamPath).toBe('/a/b');
  });
});

describe('rewritePath', () => {
  it.each([
    [{ pathPrefix: '/samples', stripPrefix: true }, '/samples/42', '/42'],
    [{ pathPrefix: '/samples', stripPrefix: true }, '/samples', '/'],
    [{ pathPrefix: '/samples', stripPrefix: true }, '/samples/', '/'],
    [{ pathPrefix: '/samples', stripPrefix: false, rewritePrefix: '/api/v1/samples' }, '/samples/42', '/api/v1/samples/42'],
    [{ pathPrefix: '/samples', stripPrefix: false, rewritePrefix: '/api/v1/samples' }, '/samples', '/api/v1/samples'],
    [{ pathPrefix: '/', stripPrefix: false, rewritePrefix: '/api' }, '/x/y', '/api/x/y'],
    [{ pathPrefix: '/samples', stripPrefix: false }, '/samples/42', '/samples/42'],
  ])('rewrites %o: %s → %s', (route, path, expected) => {
    expect(rewritePath(path, route)).toBe(expected);
  });
});

describe('Router, a table large enough to be indexed by prefix', () => {
  // The scan the index replaces, written out: routes by specificity (prefix length, then host, then method
  // conditions; stable), the first whose prefix, host and method match wins, else 405 with the methods of the routes
  // that matched but for the method, else 404.
  function scanned(services: GatewayConfigInput['services'], method: string, host: string, path: string): string {
    const routes = parseGatewayConfig({ services })
      .services.flatMap((service) => service.routes.map((route) => ({ service: service.name, route })))
      .sort((a, b) => rank(b.route) - rank(a.route));
    const allow = new Set<string>();
    for (const { service, route } of routes) {
      const prefixed = route.pathPrefix === '/' || path === route.pathPrefix || path.startsWith(`${route.pathPrefix}/`);
      const hosted = !route.hosts || route.hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) && host.length > h.length - 1 : host === h));
      if (!prefixed || !hosted) continue;
      if (route.methods && !route.methods.includes(method as never)) {
        route.methods.forEach((m) => allow.add(m));
        continue;
      }
      return service;
    }
    return allow.size > 0 ? `405 ${[...allow].sort().join(',')}` : '404';
  }
  const rank = (route: { pathPrefix: string; hosts?: unknown; methods?: unknown }) => route.pathPrefix.length * 4 + (route.hosts ? 2 : 0) + (route.methods ? 1 : 0);
  const outcome = (lookup: ReturnType<Router['match']>) =>
    lookup.kind === 'match' ? lookup.service.name : lookup.kind === 'method-not-allowed' ? `405 ${[...lookup.allow].sort().join(',')}` : '404';

  it('answers every request as the scan does (random tables and requests)', () => {
    const random = seededRandom(913);
    const pick = <T,>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const segments = ['a', 'b', 'ab', 'c'];
    const prefixOf = () => (random() < 0.1 ? '/' : `/${Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(segments)).join('/')}`);
    let compared = 0;
    for (let table = 0; table < 40; table++) {
      const seen = new Set<string>();
      const services: GatewayConfigInput['services'] = [];
      for (let s = 0; services.length < 12 + (table % 10); s++) {
        const route = {
          pathPrefix: prefixOf(),
          ...(random() < 0.3 ? { methods: [pick(['GET', 'POST', 'DELETE'] as const)] } : {}),
          ...(random() < 0.3 ? { hosts: [pick(['api.example', '*.tenant.example'])] } : {}),
        };
        // A table the schema takes: no two routes with the same prefix, methods and hosts.
        const key = `${route.pathPrefix} ${JSON.stringify(route.methods ?? null)} ${JSON.stringify(route.hosts ?? null)}`;
        if (seen.has(key) || (route.pathPrefix !== '/' && ['/gateway', '/health', '/metrics', '/alerts', '/dashboard', '/docs', '/openapi.json', '/services'].some((p) => route.pathPrefix.startsWith(p)))) continue;
        seen.add(key);
        services.push({ name: `s${s}`, routes: [route], instances });
      }
      const indexed = routerFor(services);
      for (let request = 0; request < 60; request++) {
        const path = pick(['/', '//', `${prefixOf()}/`, `${prefixOf()}/x`, prefixOf(), `${prefixOf()}${pick(['', 'x', 'b'])}`]);
        const method = pick(['GET', 'POST', 'DELETE', 'PUT']);
        const host = pick(['api.example', 'x.tenant.example', 'other.example']);
        expect(outcome(indexed.match(method, host, path)), `${method} ${host} ${path}`).toBe(scanned(services, method, host, path));
        compared++;
      }
    }
    expect(compared).toBe(2_400);
  });

  it('finds the route, or none, in a table of 30,000', () => {
    const services = Array.from({ length: 1_000 }, (_, s) => ({ name: `s${s}`, routes: Array.from({ length: 30 }, (_, r) => ({ pathPrefix: `/s${s}/r${r}` })), instances }));
    const indexed = routerFor(services);
    expect(outcome(indexed.match('GET', 'api.example', '/s999/r29/items/1'))).toBe('s999');
    expect(outcome(indexed.match('GET', 'api.example', '/s999/r30'))).toBe('404');
  });
});
