import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/schema.ts';
import { applyOverlay, diffConfigs, EMPTY_OVERLAY, overlayFor, type Overlay } from '../../src/control-plane/overlay.ts';

const base = parseGatewayConfig({
  services: [
    { name: 'samples', routes: [{ id: 'samples', pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: 'http://127.0.0.1:8081' }] },
    { name: 'auth', routes: [{ id: 'auth', pathPrefix: '/auth' }], instances: [{ id: 'auth-1', url: 'http://127.0.0.1:8080' }] },
  ],
});

const merged = (overlay: Partial<Overlay>): GatewayConfig => parseGatewayConfig(applyOverlay(base, { ...EMPTY_OVERLAY, ...overlay }).config);

describe('applyOverlay', () => {
  it('is the base when the registry holds no change', () => {
    expect(merged({})).toEqual(base);
  });

  it('adds a registered instance to a base service', () => {
    const config = merged({ instances: [{ service: 'samples', id: 'samples-9', url: 'http://127.0.0.1:8090', weight: 2, metadata: { zone: 'a' }, deleted: false }] });
    expect(config.services[0]!.instances.map((i) => [i.id, i.weight, i.metadata])).toEqual([
      ['samples-1', 1, undefined],
      ['samples-9', 2, { zone: 'a' }],
    ]);
  });

  it('removes a deregistered base instance', () => {
    const config = merged({
      instances: [
        { service: 'samples', id: 'samples-2', url: 'http://127.0.0.1:8091', weight: 1, metadata: {}, deleted: false },
        { service: 'samples', id: 'samples-1', url: 'http://127.0.0.1:8081', weight: 1, metadata: {}, deleted: true },
      ],
    });
    expect(config.services[0]!.instances.map((i) => i.id)).toEqual(['samples-2']);
  });

  it('adds, replaces and removes routes by id, moving one between services if asked', () => {
    const config = merged({
      routes: [
        { id: 'samples-v2', service: 'samples', route: { pathPrefix: '/v2/samples', stripPrefix: false }, deleted: false },
        { id: 'auth', service: 'samples', route: { pathPrefix: '/login', stripPrefix: false }, deleted: false },
        { id: 'auth-2', service: 'auth', route: { pathPrefix: '/auth', stripPrefix: false }, deleted: false },
      ],
    });
    expect(config.services[0]!.routes.map((r) => [r.id, r.pathPrefix])).toEqual([
      ['samples', '/samples'],
      ['samples-v2', '/v2/samples'],
      ['auth', '/login'],
    ]);
    expect(config.services[1]!.routes.map((r) => r.id)).toEqual(['auth-2']);
  });

  it('skips, and says so, changes to services the base no longer has', () => {
    const { skipped } = applyOverlay(base, { ...EMPTY_OVERLAY, instances: [{ service: 'gone', id: 'gone-1', url: 'http://x', weight: 1, metadata: {}, deleted: false }] });
    expect(skipped).toEqual(['instance "gone-1": service "gone" does not exist']);
  });
});

describe('overlayFor', () => {
  const desired = parseGatewayConfig({
    gateway: { escapedSlashes: 'reject' },
    services: [
      {
        name: 'samples',
        routes: [{ id: 'samples', pathPrefix: '/samples', rewritePrefix: '/api/v1/samples' }],
        instances: [{ id: 'samples-2', url: 'http://127.0.0.1:8091', weight: 3 }],
        loadBalancing: { strategy: 'least_connections' },
      },
      { name: 'rag', routes: [{ id: 'rag', pathPrefix: '/rag' }], instances: [{ id: 'rag-1', url: 'http://127.0.0.1:8086' }] },
    ],
  });

  it('records exactly what turns the base into the desired configuration', () => {
    expect(parseGatewayConfig(applyOverlay(base, overlayFor(base, desired)).config)).toEqual(desired);
  });

  it('records nothing for a configuration equal to the base', () => {
    expect(overlayFor(base, base)).toEqual(EMPTY_OVERLAY);
  });
});

describe('diffConfigs', () => {
  it('lists changes by service, route and instance identity', () => {
    const after = merged({
      instances: [{ service: 'samples', id: 'samples-9', url: 'http://127.0.0.1:8090', weight: 1, metadata: {}, deleted: false }],
      services: [{ name: 'auth', settings: null, deleted: true }],
    });
    expect(diffConfigs(base, after).map(({ op, path }) => `${op} ${path}`)).toEqual(['remove services[auth]', 'add services[samples].instances[samples-9]']);
  });

  it('reports a changed setting with before and after', () => {
    const after = structuredClone(base);
    after.services[0]!.timeouts.requestMs = 5_000;
    expect(diffConfigs(base, after)).toEqual([
      { op: 'change', path: 'services[samples].timeouts', before: { requestMs: 30_000, responseIdleMs: 60_000 }, after: { requestMs: 5_000, responseIdleMs: 60_000 } },
    ]);
  });
});
