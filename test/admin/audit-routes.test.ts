import { describe, expect, inject, it } from 'vitest';
import { asAdmin, send } from '../support/gateway.ts';
import { adminJson, registryConfig } from '../support/admin-api.ts';

const [echo1, echo2, echo3] = inject('echoOrigins');

const config = registryConfig(echo1!, echo2!);

describe('GET /gateway/audit', () => {
  it('records who changed what, with before and after, newest first', async () => {
    await send(config, '/gateway/services/register', adminJson('POST', { service: 'storage', id: 'storage-audited', url: echo3 }, { 'x-request-id': 'audit-me' }));
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
