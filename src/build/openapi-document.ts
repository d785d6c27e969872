/**
 * @module Builds the admin API's OpenAPI 3.1 document from the route definitions, at build time: `npm run openapi`
 * writes it to public/docs/admin-api.openapi.json, a static asset that the Worker serves at /openapi.json, and
 * test/admin/openapi-document.test.ts fails when that file is stale. Never imported by the Worker: the generator
 * (@hono/zod-openapi's OpenAPIHono, @asteasolutions/zod-to-openapi) stays out of the deployed bundle.
 */
// Imported before the route definitions on purpose: its module scope gives zod the real `.openapi()`, which keeps
// the metadata (openapi-router.ts only installs a no-op when it is missing).
import { OpenAPIHono } from '@hono/zod-openapi';
import { ADMIN_DOCUMENT_HEAD, ADMIN_SECURITY_SCHEMES, registerAdminRoutes } from '../admin/admin-routes.ts';
import type { AdminRouter } from '../admin/openapi-router.ts';
import type { AppEnv } from '../env.ts';

/** The document, without `servers` (added per request by the Worker). */
export function buildOpenApiDocument(): Record<string, unknown> {
  const api = new OpenAPIHono<AppEnv>();
  for (const [name, scheme] of Object.entries(ADMIN_SECURITY_SCHEMES)) api.openAPIRegistry.registerComponent('securitySchemes', name, scheme);
  registerAdminRoutes(api as AdminRouter);
  return api.getOpenAPI31Document(ADMIN_DOCUMENT_HEAD) as unknown as Record<string, unknown>;
}

/** The file's text: two-space JSON and a final newline, so a rebuild that changes nothing changes no byte. */
export function openApiDocumentText(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}
