/** @module Worker entry point. */
import { createApp } from './app.ts';
import type { Env } from './env.ts';

export { ApiKeyStore } from '../durable-objects/api-key-store.ts';

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
