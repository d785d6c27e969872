/** @module The gateway's request chain, in the order a request goes through it. */
import { Hono, type Context, type Next } from 'hono';
import { adminApi } from './admin/admin-api.ts';
import type { AppEnv } from './env.ts';
import { renderError } from './errors/render-error.ts';
import { enterRequestContext } from './middleware/request-context.ts';
import { waitUntilOf } from './middleware/wait-until.ts';
import { metricsRoutes } from './admin/metrics-routes.ts';
import { otherMethodsRefusal } from './admin/other-methods.ts';
import { finishRecording, startRecording } from './observability/request-record.ts';
import { requireAdmin } from './policies/admin-auth.ts';
import { authenticate } from './policies/auth/authenticate.ts';
import { authorize } from './policies/auth/authorize.ts';
import { circuitBreaker } from './policies/circuit-breaker.ts';
import { concurrencyLimit } from './policies/concurrency-limit.ts';
import { withCors } from './policies/cors.ts';
import { checkEdgeHygiene } from './policies/edge-hygiene.ts';
import { armHealthChecksOnFirstRequest } from './health/arm-on-request.ts';
import { rateLimit } from './policies/rate-limit.ts';
import { applySecurityHeaders } from './policies/security-headers.ts';
import { answerWithProblem, applyAnswerHeaders, serviceChain } from './policies/service-chain.ts';
import { proxyToService } from './proxy/proxy-to-service.ts';
import { normalizePath } from './routing/normalize-path.ts';
import { rawPathOf, requestUrlParts } from './routing/request-url.ts';
import { configSource } from './control-plane/config-source.ts';
import { ADMIN_PREFIXES, isAdminPath, isGatewayPath, SERVICE_REQUEST_PATH, servesAdminOn } from './policies/admin-host.ts';
import { routeRequest } from './routing/route-request.ts';

export function createApp(): Hono<AppEnv> {
  // Hono routes on the normalised path too, so the gateway's own endpoints can't be reached by an encoding trick.
  // A path with no normal form falls back to the raw one here; the request context then refuses it with a problem.
  const app = new Hono<AppEnv>({ getPath: (request, options) => gatewayPath(request, options?.env as AppEnv['Bindings'] | undefined) });
  app.onError(renderError);

  // The edge steps, in one layer (see edge() below): request context, the recording point, edge hygiene, health
  // arming; on the way out the recording, the policies' answer headers and the security headers.
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
  // Another method on an endpoint's path gets 405 with Allow, not routing's 404 (in the not-found handler below).
  const refuseOtherMethod = otherMethodsRefusal(app);

  // The service chain, in the order a proxied request goes through it: CORS, routing, the policies, the forward.
  // It is the handler of every request no gateway endpoint answers (Hono's not-found handler), so a proxied request
  // matches a single Hono layer, the edge, and Hono runs it without composing a chain: no layer, async frame or
  // closure per step (docs/performance.md). An admin path no endpoint answers reaches it too, and gets its 404
  // from routing. CORS comes before routing so a preflight is answered for the method it asks about, and its
  // headers are added to every answer of the service after. Rate limits come after authentication so they can
  // count per consumer. The policies a service has on are compiled once per configuration version: none of the
  // work of a policy the service does not use, and no promise for a decision taken without waiting; the I/O each
  // policy waits for becomes a span of the request's trace and a Server-Timing entry.
  const forwardAdmitted = serviceChain([authenticate, authorize, rateLimit, concurrencyLimit, circuitBreaker], proxyToService);
  const routedService = (c: Context<AppEnv>) => {
    // Its refusals (404, 405) are thrown before any policy runs.
    routeRequest(c);
    return forwardAdmitted(c);
  };
  app.notFound(function serviceRequest(c) {
    // Hono routed a gateway path on itself (any other on SERVICE_REQUEST_PATH): no endpoint answers this method.
    if (c.req.path !== SERVICE_REQUEST_PATH) {
      const refusal = refuseOtherMethod(c.req.method, c.req.path);
      if (refusal) throw refusal;
    }
    return withCors(c, routedService);
  });
  return app;
}

/**
 * The edge of every request, in one Hono layer instead of five: each step is a plain function in its own module,
 * called here in the order a request meets them, so a request pays one dispatch and one async frame for all of
 * them. An error of any step, or of the service chain after them (which Hono's not-found handler runs, passing
 * its errors up), becomes the problem here (`answerWithProblem`: `c.error` set, what the request holds released);
 * a gateway endpoint's errors are rendered by Hono (onError) before they get here. Either way the recording
 * point then records the answer the client got, and every answer gets the security headers.
 */
async function edge(c: Context<AppEnv>, next: Next): Promise<void> {
  const waitUntil = waitUntilOf(c);
  let started: number | undefined;
  try {
    // Ids, the normalised path, the configuration: a promise only while the configuration loads.
    const loading = enterRequestContext(c, waitUntil);
    if (loading) await loading;
    // The read plane's one recording point sees every routed request's final answer, problems included.
    started = startRecording(c);
    // Cheap refusals before any work: host, header size and characters, body size (a promise only for a GET with
    // a chunked body, which is read to see whether it is empty).
    const checking = checkEdgeHygiene(c);
    if (checking) await checking;
    // Health checks run on each service object's alarm; this arms them where no cron fires (wrangler dev).
    armHealthChecksOnFirstRequest(c, waitUntil);
    await next();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    c.res = answerWithProblem(c, error);
  }
  // Records only requests that were routed to a service: a refusal of the steps above never was.
  if (started !== undefined) finishRecording(c, started, waitUntil);
  // Last on the way out, so that every answer gets them, problems included.
  applyAnswerHeaders(c);
  applySecurityHeaders(c);
}

/**
 * The path Hono routes on: a gateway path as it is, any other the one constant no gateway handler matches; off the
 * admin host (when one is set) admin paths are routed as any other.
 */
function gatewayPath(request: Request, env: AppEnv['Bindings'] | undefined): string {
  const path = safeNormalizedPath(request.url);
  if (!isGatewayPath(path)) return SERVICE_REQUEST_PATH;
  if (!env || !isAdminPath(path)) return path;
  let adminHost: string | undefined;
  try {
    adminHost = configSource(env).runtime.config.gateway.adminHost;
  } catch {
    return path; // an invalid configuration is reported by enterRequestContext
  }
  return servesAdminOn(adminHost, requestUrlParts(request.url).hostname) ? path : SERVICE_REQUEST_PATH;
}

function safeNormalizedPath(url: string): string {
  const raw = rawPathOf(url);
  try {
    return normalizePath(raw);
  } catch {
    return raw;
  }
}
