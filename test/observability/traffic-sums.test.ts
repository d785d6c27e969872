import { describe, expect, it } from 'vitest';
import {
  addMinuteSums,
  addSample,
  emptySums,
  errorCount,
  LATENCY_BUCKETS_MS,
  methodLabel,
  quantileMs,
  totalRequests,
  type RequestSample,
} from '../../src/observability/traffic-sums.ts';

const sample = (overrides: Partial<RequestSample> = {}): RequestSample => ({
  method: 'GET',
  status: 200,
  outcome: 'ok',
  latencyMs: 20,
  upstreamMs: 15,
  bytesIn: 0,
  bytesOut: 100,
  ...overrides,
});

describe('traffic sums', () => {
  it('keeps methods bounded: unknown methods count as OTHER', () => {
    expect(methodLabel('GET')).toBe('GET');
    expect(methodLabel('PROPFIND')).toBe('OTHER');
    const sums = emptySums();
    addSample(sums, sample({ method: 'BREW' }));
    expect(sums.requests).toEqual({ 'OTHER 200': 1 });
  });

  it('puts a latency on the first bucket whose bound it does not exceed, +Inf beyond the last', () => {
    const sums = emptySums();
    for (const ms of [0, 5, 5.1, 10_000, 10_001]) addSample(sums, sample({ latencyMs: ms, upstreamMs: undefined }));
    expect(sums.latency[0]).toBe(2);
    expect(sums.latency[1]).toBe(1);
    expect(sums.latency[LATENCY_BUCKETS_MS.length - 1]).toBe(1);
    expect(sums.latency[LATENCY_BUCKETS_MS.length]).toBe(1);
    // No attempt reached an origin: the upstream histogram stays empty.
    expect(sums.upstream.reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('counts a request the gateway refused for the client\'s fault but keeps it out of the latency histograms (regression: a stalled upload read as a slow origin)', () => {
    const sums = emptySums();
    for (let i = 0; i < 19; i++) addSample(sums, sample({ latencyMs: 20, upstreamMs: 15 }));
    // A client that stalled its body for 30 s: 408 from the gateway, after an attempt that only waited for the client.
    addSample(sums, sample({ method: 'POST', status: 408, outcome: 'rejected', latencyMs: 30_000, upstreamMs: 30_000, bytesIn: 1_000 }));
    addSample(sums, sample({ status: 401, outcome: 'unauthorized', latencyMs: 3_000, upstreamMs: undefined }));
    expect(totalRequests(sums)).toBe(21);
    expect(sums.outcomes).toEqual({ ok: 19, rejected: 1, unauthorized: 1 });
    expect(sums.bytesIn).toBe(1_000);
    expect(sums.latency.reduce((a, b) => a + b, 0)).toBe(19);
    expect(sums.upstream.reduce((a, b) => a + b, 0)).toBe(19);
    expect(sums.latencySumMs).toBe(19 * 20);
    expect(quantileMs(sums.latency, 0.95)).toBeLessThanOrEqual(25);
    // The origin's own 4xx and the gateway's 5xx on the origin's behalf are the service's answers: timed.
    addSample(sums, sample({ status: 404, outcome: 'ok', latencyMs: 20 }));
    addSample(sums, sample({ status: 504, outcome: 'timeout', latencyMs: 10_001 }));
    expect(sums.latency.reduce((a, b) => a + b, 0)).toBe(21);
  });

  it('sums two isolates\' reports into one global figure, minute by minute', () => {
    const isolateA = { '60000': emptySums(), '120000': emptySums() };
    const isolateB = { '60000': emptySums() };
    for (let i = 0; i < 7; i++) addSample(isolateA['60000'], sample());
    for (let i = 0; i < 3; i++) addSample(isolateA['120000'], sample({ status: 502, outcome: 'upstream-error' }));
    for (let i = 0; i < 5; i++) addSample(isolateB['60000'], sample({ status: 503, outcome: 'breaker-open', upstreamMs: undefined }));
    const global = addMinuteSums(addMinuteSums({}, isolateA), isolateB);
    expect(totalRequests(global['60000']!)).toBe(12);
    expect(errorCount(global['60000']!)).toBe(5);
    expect(global['60000']!.requests).toEqual({ 'GET 200': 7, 'GET 503': 5 });
    expect(global['60000']!.bytesOut).toBe(1_200);
    expect(totalRequests(global['120000']!)).toBe(3);
  });

  it('estimates quantiles inside the bucket, as histogram_quantile does', () => {
    const sums = emptySums();
    // 100 requests spread evenly in the 10–25 ms bucket.
    for (let i = 0; i < 100; i++) addSample(sums, sample({ latencyMs: 20 }));
    expect(quantileMs(sums.latency, 0.5)).toBeCloseTo(17.5);
    expect(quantileMs(sums.latency, 0.99)).toBeCloseTo(24.85);
    expect(quantileMs(emptySums().latency, 0.5)).toBeNull();
  });
});
