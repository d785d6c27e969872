/**
 * @module Stands in for zod's `locales/index.js` in the deployed bundle (wrangler.toml `[alias]`).
 *
 * zod's classic entry re-exports all of its ~60 error-message locales as `z.locales` (and `z.core.locales`), and
 * @hono/zod-openapi passes the whole `z` namespace to `extendZodWithOpenApi(z)`, so no bundler can drop them: they
 * were 258 KiB of the minified Worker, parsed at every cold start. The gateway reports errors in English only (zod
 * configures English itself, from `locales/en.js`, which this alias does not touch), so the namespace keeps just that.
 */
export { default as en } from 'zod/v4/locales/en.js';
