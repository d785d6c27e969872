/** Issue #8 (3, 4): what a Host header and a method must look like before anything is derived from them. */
import { describe, expect, it } from 'vitest';
import { isSupportedMethod, isValidHost } from '../../src/routing/request-target.ts';

describe('isValidHost', () => {
  it.each(['example.com', 'api.example.com:8443', '127.0.0.1', '127.0.0.1:8787', '[::1]', '[::1]:8787', 'localhost:65535', 'A.Example.COM'])(
    'accepts %s',
    (host) => expect(isValidHost(host)).toBe(true),
  );

  it.each([
    '127.0.0.1:8787/gateway',
    '127.0.0.1:99999999',
    '127.0.0.1:65536',
    'a.example, b.example',
    'user@127.0.0.1',
    'example.com:',
    ' example.com',
    'exa mple.com',
    'example.com?x',
    'example.com#x',
    '',
    `${'a'.repeat(300)}.example`,
  ])('refuses %j', (host) => expect(isValidHost(host)).toBe(false));
});

describe('isSupportedMethod', () => {
  it('supports the methods a route may list, and nothing else', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) expect(isSupportedMethod(method)).toBe(true);
    for (const method of ['TRACE', 'CONNECT', 'PROPFIND', 'get', 'FOO']) expect(isSupportedMethod(method)).toBe(false);
  });
});
