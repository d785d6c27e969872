/** @module Worker entry point. */
import { createApp } from './app.ts';
import type { Env } from './env.ts';
import { ApiKeyStore } from '../durable-objects/api-key-store.ts';
import { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
import { ServiceRegion } from '../durable-objects/service-region.ts';
import { ServiceRegistry } from '../durable-objects/service-registry.ts';
import { ServiceState } from '../durable-objects/service-state.ts';
import { reportDurableObjectErrors } from './observability/sentry.ts';

export { ApiKeyStore, RateLimitBucket, ServiceRegion, ServiceRegistry, ServiceState };

// Sentry (when SENTRY_DSN is set): exceptions thrown inside the objects. Requests report through the app's onError.
reportDurableObjectErrors(ApiKeyStore, RateLimitBucket, ServiceRegion, ServiceRegistry, ServiceState);

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
