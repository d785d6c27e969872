/** @module The gateway's request chain, in the order a request goes through it. */
import { Hono } from 'hono';
import { adminApi } from './admin/admin-api.ts';
import type { AppEnv } from './env.ts';
import { renderError } from './errors/render-error.ts';
import { requestContext } from './middleware/request-context.ts';
import { circuitBreaker } from './policies/circuit-breaker.ts';
import { concurrencyLimit } from './policies/concurrency-limit.ts';
import { rateLimit } from './policies/rate-limit.ts';
import { proxyToService } from './proxy/proxy-to-service.ts';
import { routeRequest } from './routing/route-request.ts';
import { normalizePath } from './routing/normalize-path.ts';
import { rawPathOf } from './routing/request-url.ts';

export function createApp(): Hono<AppEnv> {
  // Hono routes on the normalised path too, so the gateway's own endpoints can't be reached by an encoding trick.
  // A path with no normal form falls back to the raw one here; requestContext then refuses it with a problem.
  const app = new Hono<AppEnv>({ getPath: (request) => safeNormalizedPath(request.url) });
  app.onError(renderError);

  app.use(requestContext());
  // The gateway's own endpoints are registered here, before the service chain: a handler that answers ends the
  // chain, so routeRequest never sees their paths.
  app.route('/', adminApi());

  // The service chain, in the order a proxied request goes through it.
  app.use(routeRequest());
  app.use(rateLimit());
  app.use(concurrencyLimit());
  app.use(circuitBreaker());
  app.all('*', proxyToService());
  return app;
}

function safeNormalizedPath(url: string): string {
  const raw = rawPathOf(url);
  try {
    return normalizePath(raw);
  } catch {
    return raw;
  }
}
