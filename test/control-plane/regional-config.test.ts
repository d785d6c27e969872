import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../src/config/load.ts';
import { ConfigSource } from '../../src/control-plane/config-source.ts';
import type { Env } from '../../src/env.ts';
import { defaultIsolateContext } from '../../src/state/infra/isolate-context.ts';

const base = parseGatewayConfig({
  gateway: { statePlane: { callTimeoutMs: 30_000, tier: { enabled: true, configMaxStaleMs: 30_000 } } },
  services: [{ name: 'nearby', routes: [{ pathPrefix: '/nearby' }], instances: [{ url: 'https://origin.example.com' }] }],
});

describe('configuration without waiting (location tier)', () => {
  it("serves a fresh isolate's first request from the region's copy, with no call to the registry", async () => {
    defaultIsolateContext.locationHint = 'oc';
    defaultIsolateContext.placeKnown = true;
    // The region's copy exists (another isolate of the region read it before).
    const copy = await env.SERVICE_REGIONS.getByName('_registry@oc').config(30_000, 60_000, 1_000);
    // The isolate's own calls to the registry fail: if it needed one, it would show in lastError.
    let registryCalls = 0;
    const farRegistry = { ...env, REGISTRY: { getByName: () => (registryCalls++, Promise.reject(new Error('far away'))) } } as unknown as Env;
    const source = new ConfigSource(base);
    const runtime = await source.current(farRegistry, () => undefined);
    expect(runtime).toBe(source.runtime);
    expect(registryCalls).toBe(0);
    expect(source.lastError).toBeUndefined();
    expect(source.version).toBe(copy.version);
    expect(source.checkedAt).toBe(copy.checkedAt);
    // Within the staleness bound the next request is served at once (no promise).
    expect(source.current(farRegistry, () => undefined)).not.toBeInstanceOf(Promise);
  });

  it('refreshes before serving once the configuration is past the staleness bound', async () => {
    defaultIsolateContext.locationHint = 'oc';
    defaultIsolateContext.placeKnown = true;
    const source = new ConfigSource(base);
    await source.current(env, () => undefined);
    source.checkedAt = Date.now() - 31_000;
    const next = source.current(env, () => undefined);
    expect(next).toBeInstanceOf(Promise);
    await next;
    expect(Date.now() - source.checkedAt).toBeLessThan(30_000);
  });
});
