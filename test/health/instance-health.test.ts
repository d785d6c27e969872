import { describe, expect, it } from 'vitest';
import { applyProbe, newInstanceHealth } from '../../src/health/instance-health.ts';
import type { ProbeResult } from '../../src/health/probe.ts';

const thresholds = { healthyThreshold: 2, unhealthyThreshold: 3 };
let clock = 1_000;
function probe(ok: boolean, figures: Record<string, number> = {}): ProbeResult {
  clock += 1_000;
  return { instance: 'a', at: clock, ok, status: ok ? 200 : 503, latencyMs: 4, error: ok ? null : 'status 503', figures };
}

describe('instance health under active checks', () => {
  it('is unknown until the first verdict, and healthy after its first passing check', () => {
    const record = newInstanceHealth();
    expect(record.status).toBe('unknown');
    expect(applyProbe(record, probe(true), thresholds)).toMatchObject({ from: 'unknown', to: 'healthy' });
  });

  it('turns unhealthy only at the Nth consecutive failure, and healthy again only at the Mth consecutive pass', () => {
    const record = newInstanceHealth();
    applyProbe(record, probe(true), thresholds);
    expect(applyProbe(record, probe(false), thresholds)).toBeNull();
    expect(applyProbe(record, probe(false), thresholds)).toBeNull();
    expect(record.status).toBe('healthy');
    expect(applyProbe(record, probe(false), thresholds)).toMatchObject({ from: 'healthy', to: 'unhealthy', reason: '3 failing checks in a row (last: status 503)' });
    expect(record.consecutiveFailures).toBe(3);
    expect(applyProbe(record, probe(true), thresholds)).toBeNull();
    expect(record.status).toBe('unhealthy');
    expect(applyProbe(record, probe(true), thresholds)).toMatchObject({ from: 'unhealthy', to: 'healthy' });
  });

  it('starts the failure count again after a pass in between', () => {
    const record = newInstanceHealth();
    for (const ok of [false, false, true, false, false]) applyProbe(record, probe(ok), thresholds);
    expect(record.status).toBe('healthy');
    expect(record.consecutiveFailures).toBe(2);
  });

  it('keeps the figures of the last answer that had any, and no latency for a probe without an answer', () => {
    const record = newInstanceHealth();
    applyProbe(record, probe(true, { cpu: 42 }), thresholds);
    applyProbe(record, { ...probe(false), status: null }, thresholds);
    expect(record.figures).toEqual({ cpu: 42 });
    expect(record.latencyMs).toBeNull();
  });
});
