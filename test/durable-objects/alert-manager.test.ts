import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { Condition } from '../../src/alerting/lifecycle.ts';
import { notificationFor, type Notification } from '../../src/alerting/notification.ts';
import { AlertRuleSchema } from '../../src/alerting/rules.ts';

const condition = (rule: string, breached: boolean, severity: Condition['severity'] = 'high'): Condition => ({
  rule,
  service: 'svc',
  severity,
  breached,
  value: breached ? 1 : 0,
  threshold: 0,
  message: `${rule} on svc`,
  cooldownMs: 60_000,
});

describe('AlertManager', () => {
  it('deduplicates, resolves, applies the cooldown and keeps statistics', async () => {
    const store = env.ALERTS.getByName('manager-lifecycle');
    const t0 = Date.now();
    const [fired] = await store.evaluate([condition('a', true)], t0);
    expect(fired).toMatchObject({ kind: 'fired' });
    expect(await store.evaluate([condition('a', true)], t0 + 1_000)).toEqual([]);
    expect(await store.list({ status: 'active' })).toHaveLength(1);
    const [resolved] = await store.evaluate([condition('a', false)], t0 + 10_000);
    expect(resolved).toMatchObject({ kind: 'resolved' });
    // Breached again within the cooldown: suppressed and counted.
    expect(await store.evaluate([condition('a', true)], t0 + 20_000)).toEqual([{ kind: 'suppressed', rule: 'a', service: 'svc', until: t0 + 70_000 }]);
    expect((await store.evaluate([condition('a', true)], t0 + 70_000))[0]).toMatchObject({ kind: 'fired' });

    const [critical] = await store.evaluate([condition('b', true, 'critical')], t0);
    const id = critical!.kind === 'fired' ? critical!.alert.id : '';
    expect(await store.acknowledge(id, 'alice')).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'alice' });
    expect(await store.acknowledge(id, 'alice')).toBe('conflict');
    expect(await store.resolve(id, 'alice')).toMatchObject({ status: 'resolved', resolvedBy: 'alice' });
    expect(await store.resolve('nope', 'alice')).toBe('not-found');

    const stats = await store.statistics();
    expect(stats).toMatchObject({
      total: 3,
      bySeverity: { high: 2, critical: 1 },
      byStatus: { resolved: 2, active: 1 },
      byRule: { a: 2, b: 1 },
      suppressed: 1,
      meanTimeToResolveMs: expect.any(Number),
      meanTimeToAcknowledgeMs: expect.any(Number),
    });
    expect(await store.list({ severity: 'critical' })).toHaveLength(1);
  });

  it('stores rules and channels with an audit trail that never holds a secret', async () => {
    const store = env.ALERTS.getByName('manager-config');
    expect(await store.putRule(AlertRuleSchema.parse({ name: 'cpu', metric: 'origin.cpu', threshold: 50 }), 'alice')).toEqual({ created: true });
    expect(await store.putRule(AlertRuleSchema.parse({ name: 'cpu', metric: 'origin.cpu', threshold: 60 }), 'bob')).toEqual({ created: false });
    expect((await store.rules())[0]).toMatchObject({ name: 'cpu', threshold: 60 });
    await store.putChannel({ name: 'hook', type: 'webhook', url: 'https://hooks.example/x', secret: 'very-secret-value' }, 'alice');
    expect(await store.deleteRule('cpu', 'carol')).toBe(true);
    expect(await store.deleteRule('cpu', 'carol')).toBe(false);
    const audit = await store.audit();
    expect(audit.map((entry) => `${entry.actor} ${entry.action} ${entry.target}`)).toEqual(['carol rule-deleted cpu', 'alice channel-created hook', 'bob rule-replaced cpu', 'alice rule-created cpu']);
    expect(JSON.stringify(await store.audit())).not.toContain('very-secret-value');
  });

  it('keeps notifications in its outbox when the queue send fails, and the next alarm sends them (a reset between storing an alert and queueing its notification lost it)', async () => {
    const stub = env.ALERTS.getByName('outbox');
    const alert = await stub.recordTestAlert('info', 'tester');
    const notifications = [notificationFor(alert, 'test', 'hook-a'), notificationFor(alert, 'test', 'hook-b')];
    const sent: Notification[] = [];
    await runInDurableObject(stub, async (instance) => {
      const object = instance as unknown as { env: typeof env };
      const realEnv = object.env;
      object.env = { ...realEnv, ALERT_NOTIFICATIONS: { sendBatch: () => Promise.reject(new Error('queue unavailable')) } } as unknown as typeof env;
      await expect(instance.sendNotifications(notifications)).rejects.toThrow('queue unavailable');
      object.env = { ...realEnv, ALERT_NOTIFICATIONS: { sendBatch: async (batch: { body: Notification }[]) => void sent.push(...batch.map((m) => m.body)) } } as unknown as typeof env;
      expect(await instance.resendOutbox()).toBe(2);
      expect(await instance.resendOutbox()).toBe(0);
      object.env = realEnv;
    });
    expect(sent.map((n) => n.channel)).toEqual(['hook-a', 'hook-b']);
    expect(sent[0]!.idempotencyKey).toBe(notifications[0]!.idempotencyKey);
  });
});
