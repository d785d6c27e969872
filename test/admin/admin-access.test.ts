/** Every endpoint the admin API documents refuses anonymous callers (401) and non-admins (403), and changes nothing. */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { asAdmin, gatewayFor, problemType } from '../support/gateway.ts';
import { claimsAt, hmacToken } from '../support/tokens.ts';

const [echo] = inject('echoOrigins');
const SECRET = 'admin-access-secret-0123456789abcdef';

const config: GatewayConfigInput = {
  gateway: { auth: { issuers: [{ name: 'local', issuer: 'https://local.test', kind: 'secret', audience: ['api'] }] } },
  services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ url: echo! }] }],
};
const send = gatewayFor(config, { JWT_SECRET: SECRET });

const samples: Record<string, string> = { service: 'samples', instanceId: 'samples-1', id: 'samples' };

async function operations(): Promise<{ method: string; path: string }[]> {
  const doc = (await (await send('/openapi.json')).json()) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, operation]) => (operation.security?.length ?? 0) > 0)
      .map(([method]) => ({ method: method.toUpperCase(), path: path.replace(/\{(\w+)\}/g, (_, name: string) => samples[name]!) })),
  );
}

async function configVersion(): Promise<number> {
  return ((await (await send('/gateway/health')).json()) as { configVersion: number }).configVersion;
}

describe('admin API access', () => {
  it('documents security on every admin operation, and leaves only the liveness and public health checks open', async () => {
    const doc = (await (await send('/openapi.json')).json()) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const open = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).filter(([, op]) => (op.security?.length ?? 0) === 0).map(([method]) => `${method} ${path}`),
    );
    expect(open.sort()).toEqual(['get /gateway/health', 'get /health', 'get /health/live', 'get /health/ready']);
  });

  it('answers 401 with a Bearer challenge to every admin operation without credentials, changing nothing', async () => {
    const before = await configVersion();
    for (const { method, path } of await operations()) {
      const response = await send(path, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(await problemType(response)).toBe('unauthorized');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="edge-gateway"/);
    }
    expect(await configVersion()).toBe(before);
  });

  it('answers 403 to every admin operation for a valid token without the admin role', async () => {
    const token = await hmacToken({ ...claimsAt(Math.floor(Date.now() / 1000)), iss: 'https://local.test', aud: 'api', roles: ['editor'] }, SECRET);
    for (const { method, path } of await operations()) {
      const response = await send(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await problemType(response)).toBe('forbidden');
    }
  });

  it('lets the ADMIN_TOKEN through', async () => {
    expect((await send('/gateway/services', asAdmin())).status).toBe(200);
  });
});
