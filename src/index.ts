/** @module Worker entry point: the one place that names the Worker's handlers. */
import { createApp } from './app.ts';
import { configSource } from './control-plane/config-source.ts';
import type { Env } from './env.ts';
import { armHealthChecks } from './health/scheduler.ts';

export { ApiKeyStore } from '../durable-objects/api-key-store.ts';
export { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
export { ServiceRegistry } from '../durable-objects/service-registry.ts';
export { ServiceState } from '../durable-objects/service-state.ts';

const app = createApp();

export default {
  fetch: app.fetch,
  /** Every minute ([triggers] in wrangler.toml): re-arms any lost health-check alarm within a minute. */
  async scheduled(_controller, env, ctx) {
    const source = configSource(env);
    const current = source.current(env, (promise) => ctx.waitUntil(promise));
    const runtime = current instanceof Promise ? await current : current;
    await armHealthChecks(env, runtime);
  },
} satisfies ExportedHandler<Env>;
