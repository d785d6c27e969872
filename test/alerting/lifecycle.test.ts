import { describe, expect, it } from 'vitest';
import { acknowledge, resolveByHand, step, type Condition } from '../../src/alerting/lifecycle.ts';

const condition = (breached: boolean, value = 0.2): Condition => ({
  rule: 'high-error-rate',
  service: 'svc',
  severity: 'high',
  breached,
  value,
  threshold: 0.05,
  message: 'm',
  cooldownMs: 60_000,
});
let ids = 0;
const newId = () => `alert-${++ids}`;

describe('alert lifecycle', () => {
  it('fires once while the condition holds, carrying the latest value, and resolves itself when it clears', () => {
    const fired = step(condition(true), undefined, undefined, 1_000, newId);
    expect(fired.transition).toMatchObject({ kind: 'fired', alert: { status: 'active', firedAt: 1_000, value: 0.2 } });
    const again = step(condition(true, 0.3), fired.alert, undefined, 2_000, newId);
    expect(again.transition).toBeUndefined();
    expect(again.alert).toMatchObject({ id: fired.alert!.id, value: 0.3 });
    const resolved = step(condition(false, 0.01), again.alert, undefined, 3_000, newId);
    expect(resolved.transition).toMatchObject({ kind: 'resolved', alert: { status: 'resolved', resolvedAt: 3_000, resolvedBy: 'auto' } });
  });

  it('suppresses a new alert during the cooldown after a resolution, and fires after it', () => {
    expect(step(condition(true), undefined, 10_000, 69_999, newId).transition).toEqual({ kind: 'suppressed', rule: 'high-error-rate', service: 'svc', until: 70_000 });
    expect(step(condition(true), undefined, 10_000, 70_000, newId).transition?.kind).toBe('fired');
  });

  it('goes active → acknowledged → resolved by hand, and refuses transitions that make no sense', () => {
    const alert = step(condition(true), undefined, undefined, 1_000, newId).alert!;
    const acknowledged = acknowledge(alert, 'alice', 5_000);
    expect(acknowledged).toMatchObject({ status: 'acknowledged', acknowledgedAt: 5_000, acknowledgedBy: 'alice' });
    if (acknowledged === 'conflict') throw new Error('unexpected');
    expect(acknowledge(acknowledged, 'bob', 6_000)).toBe('conflict');
    const resolved = resolveByHand(acknowledged, 'alice', 7_000);
    expect(resolved).toMatchObject({ status: 'resolved', resolvedAt: 7_000, resolvedBy: 'alice' });
    if (resolved === 'conflict') throw new Error('unexpected');
    expect(resolveByHand(resolved, 'bob', 8_000)).toBe('conflict');
  });
});
