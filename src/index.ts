/** @module Worker entry point: the one place that names the Worker's handlers. */
import { createApp } from './app.ts';
import { armAlertEvaluation } from './alerting/evaluator.ts';
import type { Notification } from './alerting/notification.ts';
import { consumeNotifications, DEAD_LETTER_QUEUE, keepDeadLetters } from './alerting/queue-consumer.ts';
import { configSource } from './control-plane/config-source.ts';
import type { Env } from './env.ts';
import { armHealthChecks } from './health/scheduler.ts';

export { AlertManager } from '../durable-objects/alert-manager.ts';
export { ApiKeyStore } from '../durable-objects/api-key-store.ts';
export { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
export { ServiceRegistry } from '../durable-objects/service-registry.ts';
export { ServiceState } from '../durable-objects/service-state.ts';

const app = createApp();

export default {
  fetch: app.fetch,
  /**
   * Every minute ([triggers] in wrangler.toml): makes sure each service's health-check alarm and the alert
   * evaluation alarm are set, so a lost alarm is repaired within a minute.
   */
  async scheduled(_controller, env, ctx) {
    const current = configSource(env).current(env, (promise) => ctx.waitUntil(promise));
    const runtime = current instanceof Promise ? await current : current;
    await Promise.all([armHealthChecks(env, runtime), armAlertEvaluation(env, runtime)]);
  },
  /** Alert notifications and, after their last attempt, their dead letters (src/alerting/queue-consumer.ts). */
  async queue(batch, env) {
    if (batch.queue === DEAD_LETTER_QUEUE) await keepDeadLetters(batch as MessageBatch<Notification>, env);
    else await consumeNotifications(batch as MessageBatch<Notification>, env);
  },
} satisfies ExportedHandler<Env, Notification>;
