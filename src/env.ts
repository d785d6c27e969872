/** @module The Worker's bindings and the per-request context variables, declared once. */
import type { AlertManager } from '../durable-objects/alert-manager.ts';
import type { ApiKeyStore } from '../durable-objects/api-key-store.ts';
import type { Notification } from './alerting/notification.ts';
import type { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
import type { ServiceRegion } from '../durable-objects/service-region.ts';
import type { ServiceRegistry } from '../durable-objects/service-registry.ts';
import type { ServiceState } from '../durable-objects/service-state.ts';
import type { GatewayRuntime } from './runtime/gateway-runtime.ts';
import type { RequestObservation } from './observability/request-record.ts';
import type { TraceContext } from './observability/trace-context.ts';
import type { ClientBody } from './proxy/upstream-exchange.ts';
import type { RouteMatch } from './routing/router.ts';

export interface Env {
  /** JSON text of a configuration that replaces the bundled gateway.config.json (per-environment overrides, tests). */
  GATEWAY_CONFIG?: string;
  /** Rate-limit buckets, one object per bucket key (service, route or consumer). */
  RATE_LIMITS: DurableObjectNamespace<RateLimitBucket>;
  /** Per-service shared state: circuit breaker, ejections, in-flight counts, latency. One object per service. */
  SERVICE_STATE: DurableObjectNamespace<ServiceState>;
  /**
   * The location tier (docs/scale.md): one object per service per region, `<service>@<hint>`, plus the region's
   * copy of the registry, `registry@<hint>`. Used when `gateway.statePlane.tier.enabled`.
   */
  SERVICE_REGIONS: DurableObjectNamespace<ServiceRegion>;
  /** The live service registry and its audit log: one object, control plane only. */
  REGISTRY: DurableObjectNamespace<ServiceRegistry>;
  /** Secret: HMAC key of the issuers of kind "secret" that name it (the default). Locally from `.dev.vars`. */
  JWT_SECRET?: string;
  /** Secret: bearer token that opens the admin API (`/gateway/*`, `/alerts/*`). Locally from `.dev.vars`. */
  ADMIN_TOKEN?: string;
  /** API keys, stored hashed, sharded over a few objects by key hash (durable-objects/api-key-store.ts). */
  API_KEYS: DurableObjectNamespace<ApiKeyStore>;
  /** Workers Analytics Engine: one data point per request (layout in docs/analytics.md). Absent: not written. */
  REQUEST_ANALYTICS?: AnalyticsEngineDataset;
  /** Secret: bearer token a Prometheus scraper sends for `/metrics` (admin credentials work too). */
  METRICS_TOKEN?: string;
  /** Secret: Sentry DSN for unexpected errors (src/observability/sentry.ts). Absent: nothing is sent. */
  SENTRY_DSN?: string;
  /** Secret: the Cloudflare account id, for `/metrics/json?source=analytics` (Analytics Engine SQL API). */
  CF_ACCOUNT_ID?: string;
  /** Secret: API token with Account Analytics Read, for the same. */
  CF_ANALYTICS_TOKEN?: string;
  /** Base URL of the Cloudflare API (default https://api.cloudflare.com/client/v4); tests point it at a stand-in. */
  ANALYTICS_SQL_API_URL?: string;
  /** Analytics Engine dataset name the SQL reads (default edge_gateway_development, as in wrangler.toml). */
  ANALYTICS_DATASET?: string;
  /** Sentry's environment name (production, staging...). */
  SENTRY_ENVIRONMENT?: string;
  /** Alerts, alert rules and notification channels added through the admin API, and their audit: one object. */
  ALERTS: DurableObjectNamespace<AlertManager>;
  /** Health probe outcomes (src/health/probe-analytics.ts); optional: without it they are only kept in SQLite. */
  HEALTH_EVENTS?: AnalyticsEngineDataset;
  /** Alert notifications on their way to the channels (src/alerting/queue-consumer.ts). */
  ALERT_NOTIFICATIONS: Queue<Notification>;
  /** Name of this environment's alert dead-letter queue (a variable in wrangler.toml, one per environment). */
  ALERT_DEAD_LETTER_QUEUE?: string;
  /** The static assets in public/; the Worker reads the built OpenAPI document from them (src/admin/admin-api.ts). */
  ASSETS: Fetcher;
  // Further secrets named in the configuration (`gateway.auth.issuers[].secret`,
  // `gateway.auth.introspection[].clientSecret`) are read by name with `secretNamed()`.
}

/** The secret binding called `name`, when it is a non-empty string. */
export function secretNamed(env: Env, name: string): string | undefined {
  const value = (env as unknown as Record<string, unknown>)[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export interface Variables {
  trace: TraceContext;
  /** The normalised request path: the one every routing and policy decision uses. */
  path: string;
  gateway: GatewayRuntime;
  /** The service route the request matched (set by routeRequest). */
  route: RouteMatch;
  /** Who is calling, once authenticated; absent for anonymous requests. */
  identity?: Identity;
  /**
   * Set when the request has a body: the body as edge hygiene guards it, whose `fault` signal is aborted with a
   * problem (413 too large, 408 stalled, 400 cut short) when the client is at fault, so the upstream request is cut
   * off rather than sent truncated, and the instance is not blamed.
   */
  clientBody?: ClientBody;
  /**
   * Set by the concurrency limit: releases its slot; forwarding calls it once the response body is delivered, and
   * answerWithProblem (src/policies/service-chain.ts) when the answer is a problem.
   */
  releaseOnDelivery?: () => void;
  /** Headers policies put on the answer, whatever it is (the rate limit's RateLimit fields): see applyAnswerHeaders. */
  answerHeaders?: Record<string, string>;
  /**
   * The request's headers that forwarding may have to remove or edit, as edge hygiene read them (see
   * namesForwardingReviews in src/proxy/headers.ts), so forwarding need not read them all from the runtime again.
   */
  requestHeaders?: readonly (readonly [string, string])[];
  /** The read plane's per-request record: I/O spans, and what forwarding learnt of the upstream exchange (set by startRecording). */
  observation?: RequestObservation;
}

/** The caller as established by authentication; the only source of identity headers sent to origins. */
export interface Identity {
  /** How the caller proved who they are. */
  method: 'jwt' | 'introspection' | 'api-key' | 'admin-token' | 'cloudflare-access';
  /** Subject: the JWT `sub`, the introspected `sub`, or the API key's consumer. */
  subject: string;
  /** Stable id of the consumer for per-consumer policies (rate limits): `<issuer or key>:<subject>`. */
  consumerId: string;
  roles: readonly string[];
  scopes: readonly string[];
  /** The verified token's claims (JWT) or the introspection answer, for `claim:<name>` identity headers. */
  claims?: Readonly<Record<string, unknown>>;
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}

type GatewayEnv = Env;
declare global {
  namespace Cloudflare {
    // `import { env } from 'cloudflare:workers'` (tests, Durable Objects) is typed with the same bindings.
    interface Env extends GatewayEnv {}
  }
}
