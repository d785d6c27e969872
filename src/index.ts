/** @module Worker entry point. */
import { createApp } from './app.ts';
import type { Env } from './env.ts';

export { ApiKeyStore } from '../durable-objects/api-key-store.ts';
export { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
export { ServiceRegistry } from '../durable-objects/service-registry.ts';
export { ServiceState } from '../durable-objects/service-state.ts';

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
