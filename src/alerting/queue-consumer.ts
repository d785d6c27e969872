/**
 * @module The alert queue's consumer: delivers each notification to its channel, records every attempt on the
 * alert, retries failures with exponential backoff; after the last attempt the queue moves the message to the
 * dead-letter queue (wrangler.toml), where it is kept.
 */
import { configSource } from '../control-plane/config-source.ts';
import type { Env } from '../env.ts';
import { deliver } from './channels/index.ts';
import { ALERTS_NAME, effectiveChannels } from './evaluator.ts';
import type { Notification } from './notification.ts';

/** The development environment's queues (wrangler.toml); each environment names its own. */
export const NOTIFICATION_QUEUE = 'gateway-alerts-development';
export const DEAD_LETTER_QUEUE = 'gateway-alerts-dlq-development';

/** Whether `queue` is this environment's dead-letter queue (the ALERT_DEAD_LETTER_QUEUE variable of wrangler.toml). */
export function isDeadLetterQueue(queue: string, env: Env): boolean {
  return queue === (env.ALERT_DEAD_LETTER_QUEUE ?? DEAD_LETTER_QUEUE);
}

/** max_retries of the consumer in wrangler.toml, plus the first attempt. Keep the two in step. */
export const MAX_DELIVERY_ATTEMPTS = 5;

/** Seconds before attempt `attempts + 1`: base × 2^(attempts − 1), at most 15 minutes. */
export function backoffSeconds(attempts: number, baseSeconds: number): number {
  return Math.min(900, baseSeconds * 2 ** Math.max(0, attempts - 1));
}

export async function consumeNotifications(batch: MessageBatch<Notification>, env: Env, fetcher: typeof fetch = fetch): Promise<void> {
  const source = configSource(env);
  const current = source.current(env, () => {});
  const { config } = current instanceof Promise ? await current : current;
  const store = env.ALERTS.getByName(ALERTS_NAME);
  const channels = effectiveChannels(config, await store.channels());
  for (const message of batch.messages) {
    const notification = message.body;
    const channel = channels.find((entry) => entry.name === notification.channel);
    const result = channel
      ? await deliver(channel, notification, env, fetcher)
      : { ok: false, status: null, detail: `no channel named "${notification.channel}"` };
    const last = !result.ok && (channel === undefined || message.attempts >= MAX_DELIVERY_ATTEMPTS);
    await store.recordDelivery(notification.alert.id, {
      at: Date.now(),
      channel: notification.channel,
      kind: notification.kind,
      attempt: message.attempts,
      ok: result.ok,
      status: result.status,
      detail: last && channel ? `${result.detail}; last attempt, moved to the dead-letter queue` : result.detail,
    });
    if (result.ok || channel === undefined) {
      // A channel that no longer exists will not come back by retrying.
      message.ack();
    } else {
      message.retry({ delaySeconds: backoffSeconds(message.attempts, config.gateway.alerting.retryBaseDelaySeconds) });
    }
  }
}

/**
 * The dead-letter queue's consumer: each notification that failed for good is kept in the alert store (bounded,
 * shown with its alert and counted in the statistics), where operators look, rather than in a queue nobody reads.
 */
export async function keepDeadLetters(batch: MessageBatch<Notification>, env: Env): Promise<void> {
  const store = env.ALERTS.getByName(ALERTS_NAME);
  for (const message of batch.messages) {
    await store.keepDeadLetter(message.body);
    message.ack();
  }
}
