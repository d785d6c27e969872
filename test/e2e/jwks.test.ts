/**
 * JWKS end to end: the real gateway under `wrangler dev` against a real local key server, which the tests rotate,
 * break and restore. Three issuers, each with its own key set:
 * - "live": fetched on every request (cacheMaxAge 0, cooldown 0), so rotation and failure show at once;
 * - "guarded": a 30 s cooldown, to count what unknown kids cost the key server;
 * - "dead": a key server that has never answered.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEchoOrigin, type Echo, type EchoOrigin } from '../../scripts/demo-origins.ts';
import { AuthServerNamespace, startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { claimsAt, signedToken, testKey, type TestKey } from '../support/tokens.ts';
import { rawRequest, startGateway, type RunningGateway } from './harness.ts';

let gateway: RunningGateway;
let origin: EchoOrigin;
let authServer: AuthServer;
let live: AuthServerNamespace;
let guarded: AuthServerNamespace;
let dead: AuthServerNamespace;
let key1: TestKey;
let key2: TestKey;

beforeAll(async () => {
  [origin, authServer, key1, key2] = await Promise.all([
    startEchoOrigin({ service: 'api', instance: 'api-1' }),
    startAuthServer(),
    testKey('RS256', 'key-1'),
    testKey('RS256', 'key-2'),
  ]);
  live = new AuthServerNamespace(authServer.url, 'live');
  guarded = new AuthServerNamespace(authServer.url, 'guarded');
  dead = new AuthServerNamespace(authServer.url, 'dead');
  await dead.control({ jwks: 'error' });
  const issuer = (name: string, ns: AuthServerNamespace, jwks: Record<string, number>) => ({
    name,
    issuer: `https://${name}.test`,
    kind: 'jwks' as const,
    jwksUrl: ns.jwksUrl,
    algorithms: ['RS256' as const],
    audience: ['api'],
    jwks,
  });
  gateway = await startGateway({
    gateway: {
      auth: {
        issuers: [
          issuer('live', live, { cacheMaxAgeSeconds: 0, cooldownSeconds: 0 }),
          issuer('guarded', guarded, { cacheMaxAgeSeconds: 600, cooldownSeconds: 30 }),
          issuer('dead', dead, {}),
        ],
        // Every request is verified afresh, so key changes show at once.
        tokenCache: { maxEntries: 0 },
      },
    },
    services: [{ name: 'api', routes: [{ pathPrefix: '/api' }], instances: [{ url: origin.url }], policies: { auth: {} } }],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([origin?.close(), authServer?.close()]);
});

beforeEach(async () => {
  await live.control({ jwks: 'up', keys: [key1.publicJwk] });
});

const now = () => Math.floor(Date.now() / 1000);
const tokenFor = (issuer: string, key: TestKey, overrides: Record<string, unknown> = {}) =>
  signedToken({ ...claimsAt(now()), iss: `https://${issuer}.test`, aud: 'api', ...overrides }, key);
const call = async (token: string) => rawRequest(gateway.url, '/api/x', { headers: { authorization: `Bearer ${token}` } });

describe('JWKS against a real key server', () => {
  it('verifies a token with a key from the key server', async () => {
    const response = await call(await tokenFor('live', key1));
    expect(response.status).toBe(200);
    expect(response.json<Echo>().headers['x-consumer-id']).toBe('live:alice');
  });

  it('follows a key rotation: the new key works once published, the old one stops once withdrawn', async () => {
    expect((await call(await tokenFor('live', key2))).status).toBe(401);
    await live.control({ keys: [key1.publicJwk, key2.publicJwk] });
    expect((await call(await tokenFor('live', key2))).status).toBe(200);
    expect((await call(await tokenFor('live', key1))).status).toBe(200);
    await live.control({ keys: [key2.publicJwk] });
    expect((await call(await tokenFor('live', key1))).status).toBe(401);
    expect((await call(await tokenFor('live', key2))).status).toBe(200);
  });

  it('refuses an unknown kid with 401, and asks the key server at most once per cooldown however many arrive', async () => {
    await guarded.control({ keys: [key1.publicJwk] });
    expect((await call(await tokenFor('guarded', key1))).status).toBe(200);
    const before = (await guarded.stats()).jwksRequests;
    const stranger = await testKey('RS256', 'not-published');
    for (let i = 0; i < 10; i++) {
      const response = await call(await tokenFor('guarded', stranger, { jti: String(i) }));
      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    expect((await guarded.stats()).jwksRequests - before).toBeLessThanOrEqual(1);
  });

  it('keeps verifying with the keys it has while the key server is down', async () => {
    expect((await call(await tokenFor('live', key1))).status).toBe(200);
    await live.control({ jwks: 'error' });
    const before = (await live.stats()).jwksRequests;
    expect((await call(await tokenFor('live', key1, { jti: 'during-outage' }))).status).toBe(200);
    expect((await live.stats()).jwksRequests).toBeGreaterThan(before); // it did ask, and fell back to its keys
  });

  it('keeps verifying with the keys it has while the key server answers garbage', async () => {
    expect((await call(await tokenFor('live', key1))).status).toBe(200);
    await live.control({ jwks: 'invalid' });
    expect((await call(await tokenFor('live', key1, { jti: 'garbage' }))).status).toBe(200);
  });

  it('answers 503 key-server-unavailable, not 401, when no key can be had at all', async () => {
    const response = await call(await tokenFor('dead', key1));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:key-server-unavailable', status: 503 });
    expect(response.body).not.toContain(dead.jwksUrl);
  });

  it('never fetches a key set a token points at (jku)', async () => {
    const attacker = new AuthServerNamespace(authServer.url, 'attacker');
    const evil = await testKey('RS256', 'evil');
    await attacker.control({ keys: [evil.publicJwk] });
    const token = await tokenFor('live', evil, {});
    const withJku = await signedToken({ ...claimsAt(now()), iss: 'https://live.test', aud: 'api' }, evil, { jku: attacker.jwksUrl });
    expect((await call(token)).status).toBe(401);
    expect((await call(withJku)).status).toBe(401);
    expect((await attacker.stats()).jwksRequests).toBe(0);
  });
});
