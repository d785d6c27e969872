import { describe, expect, it } from 'vitest';
import { recordProbeOutcome } from '../../src/health/probe-analytics.ts';

describe('probe outcomes in Analytics Engine', () => {
  it('writes one point per probe, indexed by service, with fixed field positions', () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset = { writeDataPoint: (point: AnalyticsEngineDataPoint) => void points.push(point) } as AnalyticsEngineDataset;
    recordProbeOutcome(dataset, 'samples', { instance: 'samples-1', at: 1, ok: true, status: 200, latencyMs: 12.5, error: null, figures: {} });
    recordProbeOutcome(dataset, 'samples', { instance: 'samples-2', at: 1, ok: false, status: null, latencyMs: 2_000, error: 'no answer within 2000 ms', figures: {} });
    expect(points).toEqual([
      { indexes: ['samples'], blobs: ['samples', 'samples-1', 'pass', ''], doubles: [12.5, 200, 1] },
      { indexes: ['samples'], blobs: ['samples', 'samples-2', 'fail', 'no answer within 2000 ms'], doubles: [2_000, 0, 0] },
    ]);
    expect(() => recordProbeOutcome(undefined, 'samples', { instance: 'x', at: 1, ok: true, status: 200, latencyMs: 1, error: null, figures: {} })).not.toThrow();
  });
});
