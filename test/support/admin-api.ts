/** What the admin API's route tests (test/admin/*-routes.test.ts) share: their gateway, requests and readers. */
import { expect } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { ADMIN_HEADERS, asAdmin, send } from './gateway.ts';

/** Two services on the echo origins (`samples` on one, `storage` on two), private origins allowed, fast polling. */
export function registryConfig(echo1: string, echo2: string): GatewayConfigInput {
  return {
    gateway: { controlPlane: { pollIntervalMs: 500, allowPrivateOriginAddresses: true, allowedOriginHosts: [] } },
    services: [
      { name: 'samples', routes: [{ id: 'samples', pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: echo1 }] },
      { name: 'storage', routes: [{ id: 'storage', pathPrefix: '/storage' }], instances: [{ id: 'storage-1', url: echo1 }, { id: 'storage-2', url: echo2 }] },
    ],
  };
}

/** An admin request with a JSON body (a string is sent as it is, for malformed bodies). */
export const adminJson = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...ADMIN_HEADERS, ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** The problem document of `response`, after checking it is one. */
export async function problemOf(response: Response): Promise<{ type: string; errors?: { path: string; message: string }[] }> {
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  return response.json() as never;
}

/** The registry's version as `GET /gateway/services` reports it. */
export async function registryVersion(config: GatewayConfigInput): Promise<number> {
  return ((await (await send(config, '/gateway/services', asAdmin())).json()) as { version: number }).version;
}
