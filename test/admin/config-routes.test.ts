import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { ADMIN_HEADERS, asAdmin, send } from '../support/gateway.ts';

const [echo1, echo2] = inject('echoOrigins');

const config: GatewayConfigInput = {
  gateway: { controlPlane: { pollIntervalMs: 500, allowPrivateOriginAddresses: true, allowedOriginHosts: [] } },
  services: [
    { name: 'samples', routes: [{ id: 'samples', pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: echo1! }] },
    { name: 'storage', routes: [{ id: 'storage', pathPrefix: '/storage' }], instances: [{ id: 'storage-1', url: echo1! }, { id: 'storage-2', url: echo2! }] },
  ],
};

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...ADMIN_HEADERS, ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

async function problem(response: Response): Promise<{ type: string; errors?: { path: string; message: string }[] }> {
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  return response.json() as never;
}

async function version(): Promise<number> {
  return ((await (await send(config, '/gateway/services', asAdmin())).json()) as { version: number }).version;
}

describe('configuration as code', () => {
  it('exports the running configuration with its version as ETag', async () => {
    const response = await send(config, '/gateway/config', asAdmin());
    const exported = (await response.json()) as { services: { name: string }[] };
    expect(exported.services.map((s) => s.name)).toEqual(['samples', 'storage']);
    expect(response.headers.get('etag')).toBe(`"${await version()}"`);
  });

  it('validates a configuration and shows the diff without applying it on a dry run', async () => {
    const exported = (await (await send(config, '/gateway/config', asAdmin())).json()) as { services: { name: string; timeouts: { requestMs: number } }[] };
    exported.services[0]!.timeouts.requestMs = 1_234;
    const before = await version();
    const response = await send(config, '/gateway/config?dry_run=1', json('PUT', exported));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      dryRun: true,
      changes: [{ op: 'change', path: 'services[samples].timeouts', after: { requestMs: 1_234 } }],
    });
    expect(await version()).toBe(before);
  });

  it('applies a whole configuration in one step, and the gateway runs on it', async () => {
    const exported = (await (await send(config, '/gateway/config', asAdmin())).json()) as GatewayConfigInput & { services: { name: string; routes: { pathPrefix: string }[] }[] };
    exported.services.push({ name: 'rag', routes: [{ pathPrefix: '/rag', stripPrefix: true }], instances: [{ url: echo2! }] } as never);
    const before = await version();
    const response = await send(config, '/gateway/config', json('PUT', exported));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ dryRun: false, version: before + 1, changes: [{ op: 'add', path: 'services[rag]' }] });
    expect(((await (await send(config, '/rag/q')).json()) as Echo).path).toBe('/q');
  });

  it('refuses an invalid configuration with every bad field, and changes nothing', async () => {
    const before = await version();
    const response = await send(config, '/gateway/config', json('PUT', { services: [{ name: 'x', routes: [{ pathPrefix: 'bad' }], instances: [{ url: 'ftp://x' }] }] }));
    expect(response.status).toBe(400);
    const details = await problem(response);
    expect(details.errors!.map((e) => e.path)).toEqual(['services[0].routes[0].pathPrefix', 'services[0].instances[0].url']);
    expect(await version()).toBe(before);
  });
});
