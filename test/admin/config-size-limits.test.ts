// Regression: the configuration had no bound on its services, routes per service or instances per service. An
// applied configuration of 6,000 services was stored (5.2 s), and every isolate then parsed it and made one call per
// service on its first request (26 s locally). Past the bounds it is refused, and the stored configuration stays.
import { describe, expect, inject, it } from 'vitest';
import { MAX_INSTANCES_PER_SERVICE, MAX_ROUTES_PER_SERVICE, MAX_SERVICES, type GatewayConfigInput } from '../../src/config/schema.ts';
import { MAX_STORED_DETAIL_BYTES } from '../../src/control-plane/audit-detail.ts';
import { asAdmin, send } from '../support/gateway.ts';
import { adminJson, problemOf, registryConfig, registryVersion } from '../support/admin-api.ts';

const [echo1, echo2] = inject('echoOrigins');
const config = registryConfig(echo1!, echo2!);

const exported = async () => (await send(config, '/gateway/config', asAdmin())).json() as Promise<GatewayConfigInput>;
const services = (count: number) => Array.from({ length: count }, (_, s) => ({ name: `s${s}`, routes: [{ pathPrefix: `/s${s}` }], instances: [{ url: echo1! }] }));
const instances = (count: number) => Array.from({ length: count }, (_, i) => ({ id: `i${i}`, url: `${echo1}/${i}` }));
const routes = (count: number) => Array.from({ length: count }, (_, r) => ({ id: `r${r}`, pathPrefix: `/r/${r}` }));

describe('bounds on the configuration\'s size', () => {
  it('refuses a configuration past a bound with 400 naming the field, and keeps the one applied before', async () => {
    const good = { ...config, services: [...config.services, { name: 'extra', routes: [{ pathPrefix: '/extra' }], instances: [{ url: echo2! }] }] };
    expect((await send(config, '/gateway/config', adminJson('PUT', good))).status).toBe(200);
    const applied = await exported();
    const version = await registryVersion(config);

    const [first, ...rest] = config.services;
    const overLarge: [string, GatewayConfigInput][] = [
      ['services', { ...config, services: [...config.services, ...services(MAX_SERVICES - 1)] }],
      ['services[0].routes', { ...config, services: [{ ...first!, routes: routes(MAX_ROUTES_PER_SERVICE + 1) }, ...rest] }],
      ['services[0].instances', { ...config, services: [{ ...first!, instances: instances(MAX_INSTANCES_PER_SERVICE + 1) }, ...rest] }],
    ];
    for (const [path, body] of overLarge) {
      const response = await send(config, '/gateway/config', adminJson('PUT', body));
      expect(response.status, path).toBe(400);
      const problem = await problemOf(response);
      expect(problem.type).toBe('urn:edge-gateway:problem:invalid-configuration');
      expect(problem.errors, path).toContainEqual({ path, message: expect.stringMatching(/<=\d+ items/) });
    }
    expect(await registryVersion(config)).toBe(version);
    expect(await exported()).toEqual(applied);
  });

  it('accepts a configuration at the bounds', async () => {
    const [first, ...rest] = config.services;
    const atBounds = { ...config, services: [{ ...first!, instances: instances(MAX_INSTANCES_PER_SERVICE) }, ...rest] };
    expect((await send(config, '/gateway/config', adminJson('PUT', atBounds))).status).toBe(200);
  });

  it('refuses to register an instance past the bound, naming the service\'s instances', async () => {
    const version = await registryVersion(config);
    const response = await send(config, '/gateway/services/register', adminJson('POST', { service: 'samples', id: 'one-too-many', url: echo2 }));
    expect(response.status).toBe(400);
    expect((await problemOf(response)).errors).toContainEqual({ path: 'services[0].instances', message: expect.stringMatching(/<=256 items/) });
    expect(await registryVersion(config)).toBe(version);
  });

  // Deployed, one SQLite row holds at most 2 MB: an audit entry (or a kept answer) past that failed the whole apply.
  it('applies a change whose diff is larger than a row may hold, and audits a summary of it', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 32 }, (_, k) => [`key-${k}-${'k'.repeat(50)}`, 'v'.repeat(256)]));
    const [first, ...rest] = config.services;
    const heavy = { ...config, services: [{ ...first!, instances: instances(70).map((instance) => ({ ...instance, metadata })) }, ...rest] };
    const response = await send(config, '/gateway/config', adminJson('PUT', heavy));
    expect(response.status).toBe(200);
    // The client still gets every change.
    expect(((await response.json()) as { changes: unknown[] }).changes.length).toBeGreaterThanOrEqual(70);
    const { entries } = (await (await send(config, '/gateway/audit?limit=1', asAdmin())).json()) as { entries: { action: string; after: { truncated?: boolean; bytes: number; changes: number; paths: string[] } }[] };
    const [entry] = entries;
    expect(entry!.action).toBe('config.apply');
    expect(entry!.after).toMatchObject({ truncated: true, changes: expect.any(Number) });
    // About 700 KB of instance metadata (under the 1 MiB admin body limit): past the stored bound, so summarised.
    expect(entry!.after.bytes).toBeGreaterThan(MAX_STORED_DETAIL_BYTES);
    expect(entry!.after.paths).toContain('change services[samples].instances[i69]');
  });
});
