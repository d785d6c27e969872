import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { ADMIN_HEADERS, asAdmin, send } from '../support/gateway.ts';

const [echo1, echo2, echo3] = inject('echoOrigins');

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

describe('GET /gateway/audit', () => {
  it('records who changed what, with before and after, newest first', async () => {
    await send(config, '/gateway/services/register', json('POST', { service: 'storage', id: 'storage-audited', url: echo3 }, { 'x-request-id': 'audit-me' }));
    const { entries } = (await (await send(config, '/gateway/audit?limit=5', asAdmin())).json()) as { entries: Record<string, unknown>[] };
    expect(entries[0]).toMatchObject({
      actor: 'admin-token:admin-token',
      action: 'instance.register',
      target: 'services/storage/instances/storage-audited',
      before: null,
      after: { service: 'storage', id: 'storage-audited', url: echo3 },
      requestId: 'audit-me',
    });
    expect(Date.parse(entries[0]!.at as string)).toBeGreaterThan(0);
  });

  it('refuses a limit out of range with 400', async () => {
    expect((await send(config, '/gateway/audit?limit=0', asAdmin())).status).toBe(400);
  });
});
