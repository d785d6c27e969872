import { describe, expect, it } from 'vitest';
import { isCanonicalBase64url, parseCompactJwt, TokenRejected } from '../../../src/policies/auth/token-format.ts';
import { b64url } from '../../support/tokens.ts';

describe('isCanonicalBase64url', () => {
  it.each(['AA', 'AAA', 'AAAA', 'QQ', 'QUE', 'QUJD', '-_-_'])('accepts %s', (segment) => {
    expect(isCanonicalBase64url(segment)).toBe(true);
  });

  it.each(['', 'A', 'AAAAA', 'QQ==', 'QUE=', 'QR', 'QUF', 'A+/A', 'A A', 'AA\n'])('refuses %j', (segment) => {
    expect(isCanonicalBase64url(segment)).toBe(false);
  });
});

describe('parseCompactJwt', () => {
  const token = (header: unknown, payload: unknown = { sub: 'a' }) => `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.c2ln`;

  it('returns the algorithm, kid and claims of a well-formed token', () => {
    expect(parseCompactJwt(token({ alg: 'RS256', kid: 'k', typ: 'at+jwt' }), 8192)).toEqual({ header: { alg: 'RS256', kid: 'k' }, claims: { sub: 'a' } });
  });

  it.each([
    [{ alg: 'none' }],
    [{ alg: 'NoNe' }],
    [{ alg: 'HS256', jku: 'https://evil.example/jwks' }],
    [{ alg: 'RS256', x5u: 'https://evil.example/cert' }],
    [{ alg: 'RS256', jwk: { kty: 'RSA' } }],
    [{ alg: 'RS256', x5c: ['MII'] }],
    [{ alg: 'HS256', crit: ['exp'] }],
    [{ alg: 'HS256', b64: false }],
    [{ alg: 'HS256', cty: 'JWT' }],
    [{ alg: 'HS256', zip: 'DEF' }],
    [{ alg: 'HS256', enc: 'A256GCM' }],
    [{ alg: 'HS256', typ: 'JOSE+JSON' }],
    [{ alg: 'HS256', kid: 7 }],
    [{ kid: 'k' }],
  ])('refuses the header %j', (header) => {
    expect(() => parseCompactJwt(token(header), 8192)).toThrow(TokenRejected);
  });

  it('refuses a token over the size limit before decoding it', () => {
    expect(() => parseCompactJwt(token({ alg: 'HS256' }, { pad: 'x'.repeat(600) }), 512)).toThrow(/longer than 512/);
  });
});
