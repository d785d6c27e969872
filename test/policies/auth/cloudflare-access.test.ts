/** Cloudflare Access in front of the admin plane: `Cf-Access-Jwt-Assertion` checked against a real local key server. */
import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../../src/config/schema.ts';
import { parseGatewayConfig } from '../../../src/config/load.ts';
import { AuthServerNamespace } from '../../support/auth-server.ts';
import { gatewayFor, problemType } from '../../support/gateway.ts';
import { testKey, type TestKey } from '../../support/tokens.ts';

const [echo] = inject('echoOrigins');
// The team "domain" is the local key server's namespace: issuer = that URL, keys at <it>/cdn-cgi/access/certs.
const team = new AuthServerNamespace(inject('authServer'), 'cloudflare-access');
const AUD = '4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2';
const key: TestKey = await testKey('RS256', 'access-1');
await team.control({ keys: [key.publicJwk] });

const config: GatewayConfigInput = {
  gateway: {
    auth: {
      admin: {
        access: { teamDomain: team.base, audience: [AUD], emails: ['Ops@Example.com'], serviceTokens: ['88bf3b6d86161464f6509f7219099e57.access'] },
      },
    },
  },
  services: [{ name: 'open', routes: [{ pathPrefix: '/open' }], instances: [{ url: echo! }] }],
};
const send = gatewayFor(config);

const now = () => Math.floor(Date.now() / 1000);
/** A token shaped like Access's: RS256, kid, `type: "app"`, `aud` as an array. */
function accessToken(claims: JWTPayload, signer: TestKey = key): Promise<string> {
  return new SignJWT({ iss: team.base, aud: [AUD], iat: now(), nbf: now(), exp: now() + 600, type: 'app', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid })
    .sign(signer.privateKey);
}
const withAssertion = (token: string, extra: Record<string, string> = {}) => ({ headers: { 'cf-access-jwt-assertion': token, ...extra } });

describe('Cloudflare Access on the admin API', () => {
  it('accepts a token from the team key set for an allowed email, compared case-insensitively', async () => {
    const token = await accessToken({ sub: '7335d417-61da-459d-899c-0a01c76a2f94', email: 'ops@example.com' });
    expect((await send('/gateway/api-keys', withAssertion(token))).status).toBe(200);
  });

  it('accepts an allowed service token by its common_name, with the empty sub Access gives service tokens', async () => {
    const token = await accessToken({ sub: '', common_name: '88bf3b6d86161464f6509f7219099e57.access' });
    expect((await send('/gateway/api-keys', withAssertion(token))).status).toBe(200);
  });

  it('refuses a token for another audience with 401', async () => {
    const token = await accessToken({ email: 'ops@example.com', aud: ['another-application-aud'] });
    const response = await send('/gateway/api-keys', withAssertion(token));
    expect(response.status).toBe(401);
    expect(await problemType(response)).toBe('unauthorized');
  });

  it.each([
    ['another issuer', { iss: 'https://other-team.cloudflareaccess.com' }],
    ['an expired token', { exp: now() - 3_600, iat: now() - 7_200, nbf: now() - 7_200 }],
    ['no email and no common_name', { sub: 'someone', email: undefined }],
  ])('refuses %s with 401', async (_label, claims) => {
    const token = await accessToken({ email: 'ops@example.com', ...claims });
    expect((await send('/gateway/api-keys', withAssertion(token))).status).toBe(401);
  });

  it('refuses a token signed by a key the team does not publish', async () => {
    const stranger = await testKey('RS256', 'access-1');
    const token = await accessToken({ email: 'ops@example.com' }, stranger);
    expect((await send('/gateway/api-keys', withAssertion(token))).status).toBe(401);
  });

  it('answers 403 for a valid token of someone not on the allow list', async () => {
    const token = await accessToken({ email: 'intern@example.com' });
    const response = await send('/gateway/api-keys', withAssertion(token));
    expect(response.status).toBe(403);
    expect(await problemType(response)).toBe('forbidden');
  });

  it('never takes the CF_Authorization cookie as a credential', async () => {
    const token = await accessToken({ email: 'ops@example.com' });
    expect((await send('/gateway/api-keys', { headers: { cookie: `CF_Authorization=${token}` } })).status).toBe(401);
  });

  it('still checks a bearer token sent along with a refused assertion, on its own', async () => {
    const refused = await accessToken({ email: 'intern@example.com' });
    expect((await send('/gateway/api-keys', withAssertion(refused, { authorization: 'Bearer admin-token-for-tests-0123456789' }))).status).toBe(200);
    expect((await send('/gateway/api-keys', withAssertion(refused, { authorization: 'Bearer wrong-token-0123456789abcdef' }))).status).toBe(401);
  });
});

describe('gateway.auth.admin.access configuration', () => {
  const parse = (access: unknown) => () => parseGatewayConfig({ gateway: { auth: { admin: { access } } }, services: [{ name: 'open', routes: [{ pathPrefix: '/open' }], instances: [{ url: 'http://127.0.0.1:1' }] }] });

  it('takes a bare team domain as https', () => {
    expect(parse({ teamDomain: 'acme.cloudflareaccess.com', audience: [AUD], emails: ['a@b.c'] })).not.toThrow();
  });

  it.each([
    ['plain http off loopback', { teamDomain: 'http://acme.cloudflareaccess.com', audience: [AUD], emails: ['a@b.c'] }, 'teamDomain'],
    ['no audience', { teamDomain: 'acme.cloudflareaccess.com', audience: [], emails: ['a@b.c'] }, 'audience'],
    ['an empty allow list', { teamDomain: 'acme.cloudflareaccess.com', audience: [AUD] }, 'emails'],
  ])('names the field for %s', (_label, access, field) => {
    expect(parse(access)).toThrow(new RegExp(`gateway\\.auth\\.admin\\.access\\.${field}`));
  });
});
