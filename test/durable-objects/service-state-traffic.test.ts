/** The read plane's side of ServiceState: per-minute sums carried on the sync, counted once, summed over isolates. */
import { evictDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { addSample, emptySums, minuteOf, type MinuteSums } from '../../src/observability/traffic-sums.ts';
import type { ServiceStatePolicy, SyncReport, TrafficBatch } from '../../src/state/protocol/service-state-protocol.ts';

const policy: ServiceStatePolicy = {
  ejection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
  instances: ['a'],
};

function minutes(requests: { status: number; latencyMs: number; outcome?: string }[], at = Date.now()): MinuteSums {
  const sums = emptySums();
  for (const r of requests) {
    addSample(sums, { method: 'GET', status: r.status, outcome: r.outcome ?? (r.status >= 500 ? 'upstream-error' : 'ok'), latencyMs: r.latencyMs, upstreamMs: r.latencyMs, bytesIn: 0, bytesOut: 10 });
  }
  return { [minuteOf(at)]: sums };
}

function report(isolateId: string, traffic: TrafficBatch[]): SyncReport {
  return {
    isolateId,
    policy,
    service: { calls: 0, failures: 0, trailingFailures: 0, hadSuccess: false },
    instances: {},
    version: 2,
    serviceName: 'orders',
    traffic,
  };
}

const ok = (n: number, latencyMs = 20) => Array.from({ length: n }, () => ({ status: 200, latencyMs }));

describe('ServiceState traffic sums', () => {
  it('sums the reports of two isolates into one global figure', async () => {
    const stub = env.SERVICE_STATE.getByName('traffic-two-isolates');
    await stub.sync(report('isolate-1', [{ seq: 1, minutes: minutes(ok(30)) }]));
    await stub.sync(report('isolate-2', [{ seq: 1, minutes: minutes([...ok(10), { status: 502, latencyMs: 40 }, { status: 429, latencyMs: 1, outcome: 'rate-limited' }]) }]));
    const summary = await stub.windowSummary(300);
    expect(summary).toMatchObject({ service: 'orders', windowSeconds: 300, requests: 42, errors: 1, rateLimited: 1, timedRequests: 41 });
    expect(summary.latencyP50Ms).toBeGreaterThan(10);
    expect(summary.latencyP50Ms).toBeLessThanOrEqual(25);
    const series = await stub.trafficSeries(60);
    expect(series.minutes).toHaveLength(60);
    expect(series.totals.requests).toEqual({ 'GET 200': 40, 'GET 502': 1, 'GET 429': 1 });
  });

  it('counts a batch sent again (its answer was lost) once, and acknowledges it', async () => {
    const stub = env.SERVICE_STATE.getByName('traffic-resend');
    const first = { seq: 1, minutes: minutes(ok(5)) };
    const snapshot = await stub.sync(report('isolate-1', [first]));
    expect(snapshot.trafficAckedSeq).toBe(1);
    // The isolate never saw that answer: it sends batch 1 again with batch 2.
    const again = await stub.sync(report('isolate-1', [first, { seq: 2, minutes: minutes(ok(3)) }]));
    expect(again.trafficAckedSeq).toBe(2);
    expect((await stub.windowSummary(120)).requests).toBe(8);
  });

  it('keeps the sums through an eviction', async () => {
    const stub = env.SERVICE_STATE.getByName('traffic-eviction');
    await stub.sync(report('isolate-1', [{ seq: 1, minutes: minutes(ok(4)) }]));
    await evictDurableObject(stub);
    const after = env.SERVICE_STATE.getByName('traffic-eviction');
    expect((await after.windowSummary(60)).requests).toBe(4);
    expect((await after.trafficSeries(5)).totals.requests).toEqual({ 'GET 200': 4 });
  });

  it('counts a batch resent after an eviction once (the last counted batch is stored with the sums)', async () => {
    const stub = env.SERVICE_STATE.getByName('traffic-resend-after-eviction');
    const first = { seq: 1, minutes: minutes(ok(5)) };
    await stub.sync(report('isolate-1', [first]));
    // The answer was lost and the object evicted before the isolate sent batch 1 again.
    await evictDurableObject(stub);
    const after = env.SERVICE_STATE.getByName('traffic-resend-after-eviction');
    const again = await after.sync(report('isolate-1', [first, { seq: 2, minutes: minutes(ok(3)) }]));
    expect(again.trafficAckedSeq).toBe(2);
    expect((await after.windowSummary(120)).requests).toBe(8);
  });

  it('leaves minutes before the window out of the summary but in the totals', async () => {
    const stub = env.SERVICE_STATE.getByName('traffic-window');
    const tenMinutesAgo = Date.now() - 10 * 60_000;
    await stub.sync(report('isolate-1', [{ seq: 1, minutes: { ...minutes(ok(6), tenMinutesAgo), ...minutes(ok(2)) } }]));
    expect((await stub.windowSummary(120)).requests).toBe(2);
    expect((await stub.windowSummary(15 * 60)).requests).toBe(8);
    const series = await stub.trafficSeries(60);
    expect(series.minutes.map((m) => m.sums.requests['GET 200'] ?? 0).reduce((a, b) => a + b, 0)).toBe(8);
  });

  it('answers an empty summary for a service without traffic', async () => {
    const summary = await env.SERVICE_STATE.getByName('traffic-none').windowSummary(300);
    expect(summary).toEqual({ service: 'traffic-none', windowSeconds: 300, requests: 0, errors: 0, rateLimited: 0, timedRequests: 0, latencyP50Ms: null, latencyP95Ms: null, latencyP99Ms: null });
  });
});
