/** @module Worker entry point: the one place that names the Worker's handlers. */
import { createApp } from './app.ts';
import { armAlertEvaluation } from './alerting/evaluator.ts';
import type { Notification } from './alerting/notification.ts';
import { consumeNotifications, isDeadLetterQueue, keepDeadLetters } from './alerting/queue-consumer.ts';
import { configSource } from './control-plane/config-source.ts';
import type { Env } from './env.ts';
import { AlertManager } from '../durable-objects/alert-manager.ts';
import { ApiKeyStore } from '../durable-objects/api-key-store.ts';
import { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
import { ServiceRegion } from '../durable-objects/service-region.ts';
import { ServiceRegistry } from '../durable-objects/service-registry.ts';
import { ServiceState } from '../durable-objects/service-state.ts';
import { armHealthChecks } from './health/scheduler.ts';
import { reportDurableObjectErrors, reportError } from './observability/sentry.ts';

export { AlertManager, ApiKeyStore, RateLimitBucket, ServiceRegion, ServiceRegistry, ServiceState };

// Sentry (when SENTRY_DSN is set): exceptions thrown inside the objects. Requests report through the app's onError,
// the cron and queue handlers below through reportFailures.
reportDurableObjectErrors(AlertManager, ApiKeyStore, RateLimitBucket, ServiceRegion, ServiceRegistry, ServiceState);

const app = createApp();

/**
 * Runs a scheduled or queue invocation, reporting an exception that escapes it to Sentry, then rethrowing it: the
 * runtime still sees the failure (the invocation is marked failed; a queue batch is retried).
 */
async function reportFailures(env: Env, ctx: ExecutionContext, where: 'scheduled' | 'queue', route: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    reportError(env, (promise) => ctx.waitUntil(promise), error, { where, route });
    throw error;
  }
}

export default {
  fetch: app.fetch,
  /**
   * Every minute ([triggers] in wrangler.toml): makes sure each service's health-check alarm and the alert
   * evaluation alarm are set, so a lost alarm is repaired within a minute.
   */
  async scheduled(controller, env, ctx) {
    await reportFailures(env, ctx, 'scheduled', controller.cron, async () => {
      const current = configSource(env).current(env, (promise) => ctx.waitUntil(promise));
      const runtime = current instanceof Promise ? await current : current;
      await Promise.all([armHealthChecks(env, runtime), armAlertEvaluation(env, runtime)]);
    });
  },
  /** Alert notifications and, after their last attempt, their dead letters (src/alerting/queue-consumer.ts). */
  async queue(batch, env, ctx) {
    await reportFailures(env, ctx, 'queue', batch.queue, async () => {
      if (isDeadLetterQueue(batch.queue, env)) await keepDeadLetters(batch as MessageBatch<Notification>, env);
      else await consumeNotifications(batch as MessageBatch<Notification>, env);
    });
  },
} satisfies ExportedHandler<Env, Notification>;
