/**
 * @module The gateway's own endpoints, declared with their schemas: the same schemas validate requests here and
 * describe them in the OpenAPI 3.1 document at /openapi.json (rendered at /docs). The document is built from these
 * definitions at build time (`npm run openapi`, src/build/openapi-document.ts), so no generator runs in the Worker.
 */
import { formatFieldPath } from '../config/load.ts';
import type { AppEnv, Env } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { registerAdminRoutes } from './admin-routes.ts';
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
  api.get('/openapi.json', async (c) => {
    const { openapi, info, ...rest } = await builtDocument(c.env);
    // `servers` sits after `info`, where the generator put it when the document was made per request.
    return c.json({ openapi, info, servers: [{ url: new URL(c.req.url).origin, description: 'This gateway' }], ...rest });
  });
  return api;
}

/** Where `npm run openapi` writes the document among the static assets (public/). */
export const OPENAPI_DOCUMENT_ASSET = '/docs/admin-api.openapi.json';

type OpenApiDocument = { openapi: string; info: unknown } & Record<string, unknown>;
let documentOnce: Promise<OpenApiDocument> | undefined;

/** The built document, read from the assets on the first request that wants it and kept for the isolate's life. */
function builtDocument(env: Env): Promise<OpenApiDocument> {
  if (!documentOnce) {
    const read = readDocument(env);
    // A failed read is not kept: the next request tries again.
    read.catch(() => {
      if (documentOnce === read) documentOnce = undefined;
    });
    documentOnce = read;
  }
  return documentOnce;
}

async function readDocument(env: Env): Promise<OpenApiDocument> {
  // A workerd configuration without the assets binding (scripts/bench/workerd-config.ts gives it one): a 500, not a hang.
  if (!env.ASSETS) throw new Error('no ASSETS binding: /openapi.json is served from the static assets');
  const response = await env.ASSETS.fetch(new Request(`https://assets.invalid${OPENAPI_DOCUMENT_ASSET}`));
  if (!response.ok) throw new Error(`the OpenAPI document asset ${OPENAPI_DOCUMENT_ASSET} answered ${response.status}`);
  return (await response.json()) as OpenApiDocument;
}
