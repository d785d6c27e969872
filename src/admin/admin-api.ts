/**
 * @module The gateway's own endpoints, declared with their schemas: the same schemas validate requests here and
 * describe them in the OpenAPI 3.1 document at /openapi.json (rendered at /docs). The document is built from these
 * definitions at build time (`npm run openapi`, src/build/openapi-document.ts), so no generator runs in the Worker.
 */
import { formatFieldPath } from '../config/load.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import openApiDocument from './openapi-document.json';
import { OpenApiRouter } from './openapi-router.ts';

export function adminApi(): OpenApiRouter {
  const api = new OpenApiRouter({
    // One problem for every schema failure, listing each bad field.
    defaultHook: (result) => {
      if (result.success) return;
      const errors = result.error.issues.map((issue) => ({ path: formatFieldPath(issue.path), message: issue.message }));
      throw new GatewayError('invalid-request', { count: errors.length }, { extensions: { errors } });
    },
  });
  registerAdminRoutes(api);
  api.get('/openapi.json', (c) => {
    const { openapi, info, ...rest } = openApiDocument;
    return c.json({ openapi, info, servers: [{ url: new URL(c.req.url).origin, description: 'This gateway' }], ...rest });
  });
  return api;
}
