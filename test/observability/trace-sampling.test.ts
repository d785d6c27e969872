import { describe, expect, it } from 'vitest';
import { newObservation, recordAttempt, serverTiming } from '../../src/observability/request-spans.ts';
import { keepReason } from '../../src/observability/trace-sampling.ts';

const settings = { sampleRate: 0.1, slowMs: 500, keptPerService: 10 };

describe('trace sampling', () => {
  it('always keeps a trace the caller sampled, every 5xx and every slow request', () => {
    expect(keepReason({ status: 200, latencyMs: 5 }, true, settings, 0.99)).toBe('parent');
    expect(keepReason({ status: 502, latencyMs: 5 }, false, settings, 0.99)).toBe('error');
    expect(keepReason({ status: 200, latencyMs: 500 }, false, settings, 0.99)).toBe('slow');
  });

  it('keeps the rest at the configured rate', () => {
    expect(keepReason({ status: 200, latencyMs: 5 }, false, settings, 0.05)).toBe('sampled');
    expect(keepReason({ status: 404, latencyMs: 5 }, false, settings, 0.1)).toBeUndefined();
    expect(keepReason({ status: 200, latencyMs: 5 }, false, { ...settings, sampleRate: 0 }, 0)).toBeUndefined();
  });
});

describe('Server-Timing', () => {
  it('sums upstream attempts and lists each phase that waited, then the total', () => {
    const observation = newObservation();
    recordAttempt(observation, 'a', 1, Date.now(), 'timeout');
    recordAttempt(observation, 'b', 2, Date.now(), 200);
    observation.spans.push({ name: 'rate-limit', start: 0, durationMs: 3 }, { name: 'auth', start: 0, durationMs: 7 });
    observation.upstreamMs = 40;
    expect(serverTiming(observation, 55)).toBe('upstream;dur=40, rate-limit;dur=3, auth;dur=7, total;dur=55');
    expect(observation).toMatchObject({ instance: 'b', attempts: 2 });
    expect(observation.spans.filter((s) => s.name === 'upstream').map((s) => s.attributes)).toEqual([
      { instance: 'a', attempt: 1, result: 'timeout' },
      { instance: 'b', attempt: 2, result: 200 },
    ]);
  });
});
