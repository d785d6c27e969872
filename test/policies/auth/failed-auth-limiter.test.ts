/** The per-address limit of failed authentications: what counts as one client. */
import { describe, expect, it } from 'vitest';
import { clientKey, FailedAuthLimiter } from '../../../src/policies/auth/failed-auth-limiter.ts';

const T0 = 1_800_000_000_000;

describe('FailedAuthLimiter', () => {
  // Regression: every IPv6 address had its own count, so a client with a /64 (2^64 addresses) was never limited.
  it('counts an IPv6 client by its /64: a new address in the same prefix does not start afresh', () => {
    const limiter = new FailedAuthLimiter({ maxFailures: 3, windowSeconds: 60 });
    for (let i = 1; i <= 3; i++) limiter.recordFailure(`2001:db8:1:2::${i.toString(16)}`, T0);
    expect(limiter.retryAfterSeconds('2001:db8:1:2:ffff:ffff:ffff:fffe', T0 + 1_000)).toBe(59);
    expect(limiter.retryAfterSeconds('2001:0DB8:0001:0002:0:0:0:abcd', T0 + 1_000)).toBe(59);
    // Another /64 is another client.
    expect(limiter.retryAfterSeconds('2001:db8:1:3::1', T0 + 1_000)).toBe(0);
  });

  it('counts IPv4 addresses one by one, an IPv4-mapped IPv6 address as its IPv4 address', () => {
    const limiter = new FailedAuthLimiter({ maxFailures: 2, windowSeconds: 60 });
    limiter.recordFailure('192.0.2.7', T0);
    limiter.recordFailure('::ffff:192.0.2.7', T0);
    expect(limiter.retryAfterSeconds('192.0.2.7', T0)).toBe(60);
    expect(limiter.retryAfterSeconds('192.0.2.8', T0)).toBe(0);
  });
});

describe('clientKey', () => {
  it('gives every spelling of one /64 the same key', () => {
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('2001:DB8:0:0:1:2:3:4')).toBe('2001:db8:0:0::/64');
    expect(clientKey('2001:db8:0:0:1::7')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('keeps anything that is not an IPv6 address as it is', () => {
    for (const text of ['192.0.2.1', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', 'unknown', '1:2:3:4:5:6:7::8']) {
      expect(clientKey(text)).toBe(text);
    }
  });
});
