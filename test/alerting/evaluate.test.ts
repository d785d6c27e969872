import { describe, expect, it } from 'vitest';
import { evaluate, type Readings } from '../../src/alerting/evaluate.ts';
import { AlertRuleSchema, DEFAULT_RULES } from '../../src/alerting/rules.ts';
import type { WindowSummary } from '../../src/observability/window-summary.ts';

function summary(requests: number, errors: number, p95: number | null = 100, rateLimited = 0, timedRequests = requests): WindowSummary {
  return { service: 'svc', windowSeconds: 300, requests, errors, rateLimited, timedRequests, latencyP50Ms: p95, latencyP95Ms: p95, latencyP99Ms: p95 };
}
function readings(window: WindowSummary | null, signals: Readings['signals'] = { unhealthyInstances: 0, breakerOpen: false, originFigures: {} }): Readings {
  return { service: 'svc', signals, windows: new Map([[300, window]]) };
}
const byRule = (result: ReturnType<typeof evaluate>) => Object.fromEntries(result.conditions.map((condition) => [condition.rule, condition.breached]));

describe('alert rule evaluation', () => {
  it('fires each default rule on a breaching reading, and none on a healthy one', () => {
    const healthy = evaluate(DEFAULT_RULES, readings(summary(100, 1, 300), { unhealthyInstances: 0, breakerOpen: false, originFigures: { cpu: 20, memory: 50 } }));
    expect(Object.values(byRule(healthy)).every((breached) => !breached)).toBe(true);
    const bad = evaluate(DEFAULT_RULES, readings(summary(100, 6, 2_500), { unhealthyInstances: 1, breakerOpen: true, originFigures: { cpu: 81, memory: 91 } }));
    expect(byRule(bad)).toEqual({
      'high-error-rate': true,
      'slow-responses': true,
      'origin-cpu-high': true,
      'origin-memory-high': true,
      'instance-unhealthy': true,
      'breaker-open': true,
    });
    expect(bad.conditions.find((condition) => condition.rule === 'high-error-rate')).toMatchObject({ value: 0.06, threshold: 0.05, message: 'svc: error_rate is 0.06 (> 0.05 over 300 s)' });
  });

  it('does not fire a traffic rule on a window with too few requests, or without a summary, and says why', () => {
    const result = evaluate(DEFAULT_RULES, readings(summary(5, 5)));
    expect(result.conditions.map((condition) => condition.rule)).not.toContain('high-error-rate');
    expect(result.skipped).toContainEqual({ rule: 'high-error-rate', service: 'svc', reason: 'too-few-requests' });
    expect(evaluate(DEFAULT_RULES, readings(null)).skipped).toContainEqual({ rule: 'slow-responses', service: 'svc', reason: 'no-summary' });
    expect(evaluate(DEFAULT_RULES, readings(summary(100, 0))).skipped).toContainEqual({ rule: 'origin-cpu-high', service: 'svc', reason: 'no-figure' });
  });

  it('does not let the gateway\'s own 4xx refusals make up the requests a latency rule needs (regression: 19 refused tokens and one slow answer fired slow-responses)', () => {
    const result = evaluate(DEFAULT_RULES, readings(summary(20, 0, 5_000, 0, 1)));
    expect(result.conditions.map((condition) => condition.rule)).not.toContain('slow-responses');
    expect(result.skipped).toContainEqual({ rule: 'slow-responses', service: 'svc', reason: 'too-few-requests' });
    // Nor an error-rate rule: its rate stands on the same timed requests.
    expect(result.skipped).toContainEqual({ rule: 'high-error-rate', service: 'svc', reason: 'too-few-requests' });
    expect(byRule(evaluate(DEFAULT_RULES, readings(summary(20, 0, 5_000, 0, 20))))['slow-responses']).toBe(true);
  });

  it('does not let a flood of the gateway\'s own 4xx refusals dilute an origin\'s failures below an error-rate rule', () => {
    // 1,000 refused tokens, and 100 requests the service answered, 10 of them with a 5xx: 10 % failing, not 0.9 %.
    const [condition] = evaluate(DEFAULT_RULES, readings(summary(1_100, 10, 100, 0, 100))).conditions.filter((c) => c.rule === 'high-error-rate');
    expect(condition).toMatchObject({ value: 0.1, breached: true });
  });

  it('applies comparators, per-service rules and the enabled switch', () => {
    const rule = (input: object) => AlertRuleSchema.parse({ name: 'r', metric: 'request_rate', threshold: 1, ...input });
    expect(evaluate([rule({ comparator: '<' })], readings(summary(60, 0))).conditions[0]).toMatchObject({ value: 0.2, breached: true });
    expect(evaluate([rule({ comparator: '>=' })], readings(summary(300, 0))).conditions[0]!.breached).toBe(true);
    expect(evaluate([rule({ service: 'other' })], readings(summary(300, 0))).conditions).toEqual([]);
    expect(evaluate([rule({ enabled: false })], readings(summary(300, 0))).conditions).toEqual([]);
    expect(evaluate([rule({ metric: 'rate_limited_ratio', threshold: 0.1 })], readings(summary(100, 0, 1, 20))).conditions[0]).toMatchObject({ value: 0.2, breached: true });
  });
});
