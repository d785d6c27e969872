import { describe, expect, it } from 'vitest';
import { rawPathOf, requestUrlParts } from '../../src/routing/request-url.ts';

describe('rawPathOf', () => {
  it('takes the path as sent, without query or fragment', () => {
    expect(rawPathOf('http://h:1/a/%2e/b?x=/y#z')).toBe('/a/%2e/b');
    expect(rawPathOf('https://h//evil.example/x')).toBe('//evil.example/x');
    expect(rawPathOf('http://h')).toBe('/');
  });
});

describe('requestUrlParts', () => {
  // The runtime hands the Worker a parsed and re-serialised URL: lower-case host, default port dropped.
  it.each([
    'http://127.0.0.1:8787/samples/1?x=1&y=%20#frag',
    'https://api.example.com/a?',
    'http://[::1]:8787/x?q',
    'https://example.com',
    'http://example.com/p#only?fragment',
  ])('agrees with URL for %s', (input) => {
    const url = new URL(input);
    expect(requestUrlParts(input)).toEqual({
      protocol: url.protocol.slice(0, -1),
      host: url.host,
      hostname: url.hostname,
      search: url.search,
    });
  });
});
