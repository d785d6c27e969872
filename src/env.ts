/** @module The Worker's bindings and the per-request context variables, declared once. */
import type { ApiKeyStore } from '../durable-objects/api-key-store.ts';
import type { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
import type { ServiceRegistry } from '../durable-objects/service-registry.ts';
import type { ServiceState } from '../durable-objects/service-state.ts';
import type { GatewayRuntime } from './config/runtime.ts';
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
  /** The live service registry and its audit log: one object, control plane only. */
  REGISTRY: DurableObjectNamespace<ServiceRegistry>;
  /** Secret: HMAC key of the issuers of kind "secret" that name it (the default). Locally from `.dev.vars`. */
  JWT_SECRET?: string;
  /** Secret: bearer token that opens the admin API (`/gateway/*`, `/alerts/*`). Locally from `.dev.vars`. */
  ADMIN_TOKEN?: string;
  /** API keys, stored hashed, sharded over a few objects by key hash (durable-objects/api-key-store.ts). */
  API_KEYS: DurableObjectNamespace<ApiKeyStore>;
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
  /** Set by the concurrency limit: releases its slot; forwarding calls it once the response body is delivered. */
  releaseOnDelivery?: () => void;
  /** The request's headers as edge hygiene read them, so forwarding need not read them from the runtime again. */
  requestHeaders?: readonly (readonly [string, string])[];
}

/** The caller as established by authentication; the only source of identity headers sent to origins. */
export interface Identity {
  /** How the caller proved who they are. */
  method: 'jwt' | 'introspection' | 'api-key' | 'admin-token';
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
