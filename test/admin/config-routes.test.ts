import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { asAdmin, send } from '../support/gateway.ts';
import { adminJson, problemOf, registryConfig, registryVersion } from '../support/admin-api.ts';

const [echo1, echo2] = inject('echoOrigins');

const config = registryConfig(echo1!, echo2!);

describe('configuration as code', () => {
  it('exports the running configuration with its version as ETag', async () => {
    const response = await send(config, '/gateway/config', asAdmin());
    const exported = (await response.json()) as { services: { name: string }[] };
    expect(exported.services.map((s) => s.name)).toEqual(['samples', 'storage']);
    expect(response.headers.get('etag')).toBe(`"${await registryVersion(config)}"`);
  });

  it('validates a configuration and shows the diff without applying it on a dry run', async () => {
    const exported = (await (await send(config, '/gateway/config', asAdmin())).json()) as { services: { name: string; timeouts: { requestMs: number } }[] };
    exported.services[0]!.timeouts.requestMs = 1_234;
    const before = await registryVersion(config);
    const response = await send(config, '/gateway/config?dry_run=1', adminJson('PUT', exported));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      dryRun: true,
      changes: [{ op: 'change', path: 'services[samples].timeouts', after: { requestMs: 1_234 } }],
    });
    expect(await registryVersion(config)).toBe(before);
  });

  it('applies a whole configuration in one step, and the gateway runs on it', async () => {
    const exported = (await (await send(config, '/gateway/config', asAdmin())).json()) as GatewayConfigInput & { services: { name: string; routes: { pathPrefix: string }[] }[] };
    exported.services.push({ name: 'rag', routes: [{ pathPrefix: '/rag', stripPrefix: true }], instances: [{ url: echo2! }] } as never);
    const before = await registryVersion(config);
    const response = await send(config, '/gateway/config', adminJson('PUT', exported));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ dryRun: false, version: before + 1, changes: [{ op: 'add', path: 'services[rag]' }] });
    expect(((await (await send(config, '/rag/q')).json()) as Echo).path).toBe('/q');
  });

  it('leaves the version alone (and writes no audit entry) when the configuration applied is the one running', async () => {
    const exported = await (await send(config, '/gateway/config', asAdmin())).json();
    const before = await registryVersion(config);
    const audited = ((await (await send(config, '/gateway/audit', asAdmin())).json()) as { entries: unknown[] }).entries.length;
    const response = await send(config, '/gateway/config', adminJson('PUT', exported));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ dryRun: false, version: before, changes: [] });
    expect(await registryVersion(config)).toBe(before);
    expect(((await (await send(config, '/gateway/audit', asAdmin())).json()) as { entries: unknown[] }).entries).toHaveLength(audited);
  });

  it('refuses an invalid configuration with every bad field, and changes nothing', async () => {
    const before = await registryVersion(config);
    const response = await send(config, '/gateway/config', adminJson('PUT', { services: [{ name: 'x', routes: [{ pathPrefix: 'bad' }], instances: [{ url: 'ftp://x' }] }] }));
    expect(response.status).toBe(400);
    const details = await problemOf(response);
    expect(details.errors!.map((e) => e.path)).toEqual(['services[0].routes[0].pathPrefix', 'services[0].instances[0].url']);
    expect(await registryVersion(config)).toBe(before);
  });
});
