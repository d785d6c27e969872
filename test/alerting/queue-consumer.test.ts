import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { ALERTS_NAME } from '../../src/alerting/evaluator.ts';
import type { Condition } from '../../src/alerting/lifecycle.ts';
import { notificationFor, type Notification } from '../../src/alerting/notification.ts';
import { backoffSeconds, DEAD_LETTER_QUEUE, MAX_DELIVERY_ATTEMPTS, NOTIFICATION_QUEUE } from '../../src/alerting/queue-consumer.ts';
import type { Env } from '../../src/env.ts';
import worker from '../../src/index.ts';

const receiver = inject('receiver');
const config = {
  gateway: {
    alerting: {
      retryBaseDelaySeconds: 2,
      channels: [
        { name: 'good', type: 'webhook', url: `${receiver}/queue-good` },
        { name: 'bad', type: 'webhook', url: `${receiver}/fail-queue` },
      ],
    },
  },
  services: [{ name: 'svc', routes: [{ pathPrefix: '/svc' }], instances: [{ url: 'https://origin.example' }] }],
};
const environment = { ...env, GATEWAY_CONFIG: JSON.stringify(config) } as Env;
const condition: Condition = { rule: 'q', service: 'svc', severity: 'high', breached: true, value: 1, threshold: 0, message: 'q', cooldownMs: 0 };

async function firedAlert() {
  const [transition] = await env.ALERTS.getByName(ALERTS_NAME).evaluate([{ ...condition, rule: `q-${crypto.randomUUID().slice(0, 8)}` }]);
  if (transition?.kind !== 'fired') throw new Error('expected a fired alert');
  return transition.alert;
}

async function run(queue: string, messages: { body: Notification; attempts: number }[]) {
  const batch = createMessageBatch<Notification>(queue, messages.map((message, i) => ({ id: `m-${i}`, timestamp: new Date(), attempts: message.attempts, body: message.body })));
  const ctx = createExecutionContext();
  await (worker.queue as ExportedHandlerQueueHandler<Env, Notification>)(batch, environment, ctx);
  return getQueueResult(batch, ctx);
}

describe('alert queue consumer', () => {
  it('acknowledges a delivered notification and records the attempt on the alert', async () => {
    const alert = await firedAlert();
    const result = await run(NOTIFICATION_QUEUE, [{ body: notificationFor(alert, 'fired', 'good'), attempts: 1 }]);
    expect(result.explicitAcks).toEqual(['m-0']);
    const stored = await env.ALERTS.getByName(ALERTS_NAME).get(alert.id);
    expect(stored!.deliveries).toEqual([{ at: expect.any(Number), channel: 'good', kind: 'fired', attempt: 1, ok: true, status: 200, detail: 'delivered' }]);
  });

  it('retries a failing receiver with exponential backoff, and says so on the last attempt', async () => {
    const alert = await firedAlert();
    const first = await run(NOTIFICATION_QUEUE, [{ body: notificationFor(alert, 'fired', 'bad'), attempts: 1 }]);
    expect(first.retryMessages).toEqual([{ msgId: 'm-0' }]);
    const third = await run(NOTIFICATION_QUEUE, [{ body: notificationFor(alert, 'fired', 'bad'), attempts: 3 }]);
    expect(third.retryMessages).toEqual([{ msgId: 'm-0' }]);
    // The delays asked for (the test helper does not report them): base × 2^(attempts − 1), capped.
    expect([1, 2, 3].map((attempts) => backoffSeconds(attempts, 2))).toEqual([2, 4, 8]);
    await run(NOTIFICATION_QUEUE, [{ body: notificationFor(alert, 'fired', 'bad'), attempts: MAX_DELIVERY_ATTEMPTS }]);
    const stored = await env.ALERTS.getByName(ALERTS_NAME).get(alert.id);
    expect(stored!.deliveries.map((delivery) => [delivery.attempt, delivery.ok, delivery.status])).toEqual([[1, false, 500], [3, false, 500], [MAX_DELIVERY_ATTEMPTS, false, 500]]);
    expect(stored!.deliveries.at(-1)!.detail).toBe('receiver answered 500; last attempt, moved to the dead-letter queue');
    expect(backoffSeconds(20, 5)).toBe(900);
  });

  it('keeps dead letters in the alert store and counts them', async () => {
    const alert = await firedAlert();
    const result = await run(DEAD_LETTER_QUEUE, [{ body: notificationFor(alert, 'fired', 'bad'), attempts: 1 }]);
    expect(result.explicitAcks).toEqual(['m-0']);
    const store = env.ALERTS.getByName(ALERTS_NAME);
    expect((await store.deadLetters())[0]).toMatchObject({ idempotencyKey: `${alert.id}:fired`, channel: 'bad' });
    expect((await store.statistics()).deliveries.deadLettered).toBeGreaterThanOrEqual(1);
    expect((await store.get(alert.id))!.deliveries.at(-1)!.detail).toMatch(/^dead-lettered/);
  });

  it('drops a notification for a channel that no longer exists, recording why', async () => {
    const alert = await firedAlert();
    const result = await run(NOTIFICATION_QUEUE, [{ body: notificationFor(alert, 'fired', 'gone'), attempts: 1 }]);
    expect(result.explicitAcks).toEqual(['m-0']);
    expect((await env.ALERTS.getByName(ALERTS_NAME).get(alert.id))!.deliveries[0]!.detail).toBe('no channel named "gone"');
  });
});
