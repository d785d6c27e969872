/**
 * @module Stands in for zod's `locales/index.js` in the deployed bundle (wrangler.toml `[alias]`).
 *
 * zod's classic entry re-exports all of its ~60 error-message locales as `z.locales` (and `z.core.locales`); any
 * code that uses the `z` namespace as a value (as @hono/zod-openapi's `extendZodWithOpenApi(z)` did, before the
 * OpenAPI document was built at build time) keeps them all: they were 258 KiB of the minified Worker, parsed at
 * every cold start. The gateway now imports zod as `import * as z` and never passes the namespace around, which lets
 * esbuild drop them anyway (checked: without the alias the production bundle is the same, 139.3 KiB gzip); the alias
 * stays as a guard, so a dependency that does pass the namespace around cannot bring them back. The gateway reports
 * errors in English only (zod configures English itself, from `locales/en.js`, which this alias does not touch), so
 * the namespace keeps just that.
 */
export { default as en } from 'zod/v4/locales/en.js';
