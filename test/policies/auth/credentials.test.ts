import { describe, expect, it } from 'vitest';
import { readCredentials } from '../../../src/policies/auth/credentials.ts';

const headers = (init: Record<string, string> | [string, string][]) => new Headers(init);

describe('readCredentials', () => {
  it('reads a bearer token, the scheme in any case (RFC 9110 §11.1)', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      expect(readCredentials(headers({ authorization: `${scheme} abc.def.ghi` }))).toEqual({ kind: 'bearer', token: 'abc.def.ghi' });
    }
  });

  it('reads an API key from X-API-Key or from Authorization: ApiKey', () => {
    expect(readCredentials(headers({ 'x-api-key': 'egw_k' }))).toEqual({ kind: 'api-key', key: 'egw_k' });
    expect(readCredentials(headers({ authorization: 'ApiKey egw_k' }))).toEqual({ kind: 'api-key', key: 'egw_k' });
  });

  it('reports no credentials, and other schemes as such', () => {
    expect(readCredentials(headers({}))).toEqual({ kind: 'none' });
    expect(readCredentials(headers({ authorization: 'Basic YWxpY2U6c2VjcmV0' }))).toEqual({ kind: 'other-scheme' });
    expect(readCredentials(headers({ authorization: 'Digest username="a", realm="b"' }))).toEqual({ kind: 'other-scheme' });
  });

  it.each([
    ['two Authorization headers', [['authorization', 'Bearer a'], ['authorization', 'Bearer b']]],
    ['a Bearer and a Basic header', [['authorization', 'Bearer a'], ['authorization', 'Basic b']]],
    ['two X-API-Key headers', [['x-api-key', 'a'], ['x-api-key', 'b']]],
    ['Authorization and X-API-Key at once', [['authorization', 'Bearer a'], ['x-api-key', 'b']]],
    ['a scheme without token', [['authorization', 'Bearer']]],
    ['a token with a space', [['authorization', 'Bearer a b']]],
    ['a token with a comma', [['authorization', 'Bearer a,b']]],
    ['a token with a quote', [['authorization', 'Bearer "a"']]],
    ['an API key with a space', [['x-api-key', 'a b']]],
  ] as [string, [string, string][]][])('refuses %s as malformed', (_label, entries) => {
    const init = new Headers();
    for (const [name, value] of entries) init.append(name, value);
    expect(readCredentials(init)).toEqual({ kind: 'malformed' });
  });
});
