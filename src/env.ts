/** @module The Worker's bindings and the per-request context variables, declared once. */
import type { RateLimitBucket } from '../durable-objects/rate-limit-bucket.ts';
import type { ServiceRegistry } from '../durable-objects/service-registry.ts';
import type { ServiceState } from '../durable-objects/service-state.ts';
import type { GatewayRuntime } from './config/runtime.ts';
import type { TraceContext } from './observability/trace-context.ts';
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
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}

// `env` from 'cloudflare:workers' (used by tests) is typed as Cloudflare.Env: make it this Env.
type WorkerEnv = Env;
declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
