import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../src/config/load.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { rewritePath, Router } from '../../src/routing/router.ts';

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
