import { describe, expect, it } from 'vitest';
import { OutlierDetector, type EjectionPolicy } from '../../../src/state/machines/outlier-ejection.ts';

const policy: EjectionPolicy = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 };
const fail = (n: number) => ({ calls: n, failures: n, trailingFailures: n, hadSuccess: false });
const four = ['a', 'b', 'c', 'd'];

describe('OutlierDetector', () => {
  it('ejects after 5 consecutive failures, counted across batches', () => {
    const detector = new OutlierDetector({});
    detector.record(0, policy, four, 'a', fail(3));
    expect(detector.ejected(0)).toEqual([]);
    const events = detector.record(100, policy, four, 'a', fail(2));
    expect(events.map((e) => e.kind)).toEqual(['instance-ejected']);
    expect(detector.ejected(100)).toEqual(['a']);
  });

  it('does not eject when a success breaks the run', () => {
    const detector = new OutlierDetector({});
    detector.record(0, policy, four, 'a', fail(4));
    detector.record(0, policy, four, 'a', { calls: 5, failures: 4, trailingFailures: 1, hadSuccess: true });
    expect(detector.ejected(0)).toEqual([]);
  });

  it('ejects for 30 s × times ejected, capped at 300 s', () => {
    const detector = new OutlierDetector({});
    const durations: number[] = [];
    let now = 0;
    for (let i = 0; i < 12; i++) {
      detector.record(now, policy, four, 'a', fail(5));
      const until = detector.data.a!.ejectedUntil;
      durations.push((until - now) / 1000);
      now = until;
    }
    expect(durations).toEqual([30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300]);
  });

  it('returns an instance when its ejection is over', () => {
    const detector = new OutlierDetector({});
    detector.record(0, policy, four, 'a', fail(5));
    expect(detector.advance(29_999, policy, four)).toEqual([]);
    expect(detector.advance(30_000, policy, four).map((e) => e.kind)).toEqual(['instance-returned']);
    expect(detector.ejected(30_000)).toEqual([]);
  });

  it('never ejects more than the configured share of instances', () => {
    const detector = new OutlierDetector({});
    for (const id of four) detector.record(0, policy, four, id, fail(5));
    expect(detector.ejected(0)).toEqual(['a', 'b']);
  });

  it('keeps a lone instance in rotation', () => {
    const detector = new OutlierDetector({});
    detector.record(0, policy, ['a'], 'a', fail(50));
    expect(detector.ejected(0)).toEqual([]);
  });

  it('ejects one of two instances even at a low percentage', () => {
    const detector = new OutlierDetector({});
    detector.record(0, { ...policy, maxEjectionPercent: 10 }, ['a', 'b'], 'a', fail(5));
    expect(detector.ejected(0)).toEqual(['a']);
  });

  it('brings an instance back early when it passes a health check', () => {
    const detector = new OutlierDetector({});
    detector.record(0, policy, four, 'a', fail(5));
    expect(detector.healthCheckPassed(1_000, 'a').map((e) => e.reason)).toEqual(['passed a health check']);
    expect(detector.ejected(1_000)).toEqual([]);
  });

  it('forgives earlier ejections after a healthy stretch as long as the longest ejection', () => {
    const detector = new OutlierDetector({});
    detector.record(0, policy, four, 'a', fail(5));
    detector.advance(30_000, policy, four);
    detector.advance(330_000, policy, four);
    detector.record(330_000, policy, four, 'a', fail(5));
    expect(detector.data.a!.ejectedUntil - 330_000).toBe(30_000);
  });
});
