/** Issue #8 (5): instance URLs and route prefixes the configuration (and so the registry) can hold. */
import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

const withUrl = (url: string) => ({ services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ url }] }] });
const withPrefix = (pathPrefix: string) => ({ services: [{ name: 'samples', routes: [{ pathPrefix }], instances: [{ url: 'http://127.0.0.1:8081' }] }] });

describe('instance URLs', () => {
  it.each([
    ['longer than 2,048 characters', `http://127.0.0.1:8081/${'a'.repeat(2_048)}`],
    ['with a leading space', ' http://127.0.0.1:8081'],
    ['with a trailing newline', 'http://127.0.0.1:8081\n'],
    ['with an embedded tab', 'http://127.0.\t0.1:8081'],
    ['with a NUL', 'http://127.0.0.1:8081/a\u0000b'],
    ['with dot segments', 'http://127.0.0.1:8081/a/../..'],
    ['with an encoded dot segment', 'http://127.0.0.1:8081/a/%2e%2e/b'],
    ['with an empty segment', 'http://127.0.0.1:8081/a//b'],
    ['with an empty authority', 'http:///127.0.0.1:8081'],
    ['with a backslash', 'http://127.0.0.1:8081\\admin'],
    ['with an empty query', 'http://127.0.0.1:8081/?'],
  ])('refuses one %s, naming the field', (_, url) => {
    const issues = issuesOf(withUrl(url));
    expect(issues.some((issue) => issue.startsWith('services[0].instances[0].url: '))).toBe(true);
  });

  it('accepts clean URLs, with a port and a base path', () => {
    for (const url of ['http://127.0.0.1:8081', 'https://api.example.com/v1/base', 'http://[::1]:8080/x', `http://h.example/${'a'.repeat(2_000)}`]) {
      expect(parseGatewayConfig(withUrl(url)).services[0]!.instances[0]!.url).toBe(url);
    }
  });
});

describe('route prefixes', () => {
  it.each([
    ['with a NUL', '/a\u0000b'],
    ['with CRLF', '/a\r\nb'],
    ['with an emoji', '/caf\u{1F600}'],
    ['with a space', '/a b'],
    ['longer than 1,024 characters', `/${'a'.repeat(1_024)}`],
    ['100 KB of text', `/${'x'.repeat(100 * 1024)}`],
    ['empty (a catch-all not declared as "/")', ''],
    ['that only normalises to the catch-all', '//'],
    ['with a dot segment', '/a/./b'],
  ])('refuses one %s, naming the field', (_, pathPrefix) => {
    const issues = issuesOf(withPrefix(pathPrefix));
    expect(issues.some((issue) => issue.startsWith('services[0].routes[0].pathPrefix: '))).toBe(true);
  });

  it('accepts "/" as the catch-all, and RFC 3986 path characters', () => {
    for (const prefix of ['/', '/samples', "/a-b_c.d~e!$&'()*+,;=:@", '/caf%C3%A9', `/${'a'.repeat(1_023)}`]) {
      expect(parseGatewayConfig(withPrefix(prefix)).services[0]!.routes[0]!.pathPrefix).toBe(prefix);
    }
  });
});
