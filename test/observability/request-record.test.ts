import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/problem.ts';
import { outcomeOf } from '../../src/observability/request-record.ts';

describe('outcome labels', () => {
  it('names an answer the gateway made by its problem kind', () => {
    expect(outcomeOf(429, new GatewayError('rate-limited'))).toBe('rate-limited');
    expect(outcomeOf(503, new GatewayError('circuit-open'))).toBe('breaker-open');
    expect(outcomeOf(504, new GatewayError('upstream-timeout'))).toBe('timeout');
    expect(outcomeOf(502, new GatewayError('upstream-unreachable'))).toBe('upstream-error');
    expect(outcomeOf(401, new GatewayError('unauthorized'))).toBe('unauthorized');
    expect(outcomeOf(403, new GatewayError('forbidden'))).toBe('forbidden');
    expect(outcomeOf(413, new GatewayError('payload-too-large'))).toBe('rejected');
    expect(outcomeOf(500, new GatewayError('internal-error'))).toBe('internal-error');
  });

  it('names an origin\'s answer by its status, and any other exception internal-error', () => {
    expect(outcomeOf(200, undefined)).toBe('ok');
    expect(outcomeOf(404, undefined)).toBe('ok');
    expect(outcomeOf(503, undefined)).toBe('upstream-error');
    expect(outcomeOf(500, new TypeError('boom'))).toBe('internal-error');
  });
});
