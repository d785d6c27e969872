/** @module The gateway's request chain, in the order a request goes through it. */
import { Hono, type Context, type Next } from 'hono';
import { adminApi } from './admin/admin-api.ts';
import type { AppEnv } from './env.ts';
import { renderError } from './errors/render-error.ts';
import { enterRequestContext } from './middleware/request-context.ts';
import { waitUntilOf } from './middleware/wait-until.ts';
import { metricsRoutes } from './admin/metrics-routes.ts';
import { finishRecording, startRecording } from './observability/request-record.ts';
import { requireAdmin } from './policies/admin-auth.ts';
import { authenticate } from './policies/auth/authenticate.ts';
import { authorize } from './policies/auth/authorize.ts';
import { circuitBreaker } from './policies/circuit-breaker.ts';
import { concurrencyLimit } from './policies/concurrency-limit.ts';
import { cors } from './policies/cors.ts';
import { checkEdgeHygiene } from './policies/edge-hygiene.ts';
import { armHealthChecksOnFirstRequest } from './health/arm-on-request.ts';
import { rateLimit } from './policies/rate-limit.ts';
import { applySecurityHeaders } from './policies/security-headers.ts';
import { serviceChain } from './policies/service-chain.ts';
import { proxyToService } from './proxy/proxy-to-service.ts';
import { normalizePath } from './routing/normalize-path.ts';
import { rawPathOf, requestUrlParts } from './routing/request-url.ts';
import { configSource } from './control-plane/config-source.ts';
import { ADMIN_PREFIXES, isAdminPath, routedElsewhere, servesAdminOn } from './policies/admin-host.ts';
import { routeRequest } from './routing/route-request.ts';

export function createApp(): Hono<AppEnv> {
  // Hono routes on the normalised path too, so the gateway's own endpoints can't be reached by an encoding trick.
  // A path with no normal form falls back to the raw one here; the request context then refuses it with a problem.
  const app = new Hono<AppEnv>({ getPath: (request, options) => gatewayPath(request, options?.env as AppEnv['Bindings'] | undefined) });
  app.onError(renderError);

  // The edge steps, in one layer (see edge() below): request context, the recording point, edge hygiene, health
  // arming; on the way out the recording and the security headers.
  app.use(edge);

  // The gateway's own endpoints are registered here, before the service chain: a handler that answers ends the
  // chain, so routeRequest never sees their paths. Everything under /gateway and /alerts needs an admin, but the
  // liveness check; /openapi.json is public.
  // Prometheus and JSON metrics: admin credentials or the METRICS_TOKEN scrape token.
  app.route('/', metricsRoutes());
  // Registered on the admin prefixes only, so a proxied request does not pass through it. Hono matches these on
  // gatewayPath, which moves admin paths off the admin host (when one is set), so there the guard does not run and
  // the path goes to the service routes; on the admin host it keeps its own checks (public exceptions, the host).
  const adminGuard = requireAdmin();
  for (const prefix of ADMIN_PREFIXES) app.use(`${prefix}/*`, adminGuard);
  app.route('/', adminApi());

  // The service chain, in the order a proxied request goes through it. CORS comes before routing so a preflight
  // is answered for the method it asks about, and its headers are added to every answer of the service after.
  // Rate limits come after authentication so they can count per consumer.
  app.use(cors());
  // The policies a service has on, compiled once per configuration version: one dispatch layer for all of them,
  // none of the work of a policy the service does not use, and no promise for a decision taken without waiting.
  // The I/O each policy waits for becomes a span of the request's trace and a Server-Timing entry.
  const servicePolicies = serviceChain([authenticate, authorize, rateLimit, concurrencyLimit, circuitBreaker]);
  // Routing first, in the same layer: its refusals (404, 405) are thrown before any policy runs, so Hono renders
  // them here as it did in a layer of their own.
  app.use(function routedServiceChain(c, next) {
    routeRequest(c);
    return servicePolicies(c, next);
  });
  app.all('*', proxyToService());
  return app;
}

/**
 * The edge of every request, in one Hono layer instead of five: each step is a plain function in its own module,
 * called here in the order a request meets them, so a request pays one dispatch and one async frame for all of
 * them. Semantics as five layers had them: a refusal by a step here is rendered by onError (`c.error` set, `c.res`
 * the problem) and still gets the security headers; the chain after this layer renders its own errors into `c.res`
 * (Hono's dispatch), which the recording point then records as the answer the client got.
 */
async function edge(c: Context<AppEnv>, next: Next): Promise<void> {
  const waitUntil = waitUntilOf(c);
  try {
    // Ids, the normalised path, the configuration: a promise only while the configuration loads.
    const loading = enterRequestContext(c, waitUntil);
    if (loading) await loading;
    // The read plane's one recording point sees every routed request's final answer, problems included.
    const started = startRecording(c);
    // Cheap refusals before any work: host, header size and characters, body size.
    checkEdgeHygiene(c);
    // Health checks run on each service object's alarm; this arms them where no cron fires (wrangler dev).
    armHealthChecksOnFirstRequest(c, waitUntil);
    await next();
    finishRecording(c, started, waitUntil);
  } catch (error) {
    // What Hono's dispatch does with an error thrown by a layer.
    if (!(error instanceof Error)) throw error;
    c.error = error;
    c.res = await renderError(error, c);
  }
  // Last on the way out, so that every response gets them, problems included.
  applySecurityHeaders(c);
}

/** The path Hono routes on; off the admin host (when one is set) admin paths match no gateway handler. */
function gatewayPath(request: Request, env: AppEnv['Bindings'] | undefined): string {
  const path = safeNormalizedPath(request.url);
  if (!env || !isAdminPath(path)) return path;
  let adminHost: string | undefined;
  try {
    adminHost = configSource(env).runtime.config.gateway.adminHost;
  } catch {
    return path; // an invalid configuration is reported by requestContext
  }
  return servesAdminOn(adminHost, requestUrlParts(request.url).hostname) ? path : routedElsewhere(path);
}

function safeNormalizedPath(url: string): string {
  const raw = rawPathOf(url);
  try {
    return normalizePath(raw);
  } catch {
    return raw;
  }
}
