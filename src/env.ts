/** @module The Worker's bindings and the per-request context variables, declared once. */
import type { GatewayRuntime } from './config/runtime.ts';
import type { TraceContext } from './observability/trace-context.ts';

export interface Env {
  /** JSON text of a configuration that replaces the bundled gateway.config.json (per-environment overrides, tests). */
  GATEWAY_CONFIG?: string;
}

export interface Variables {
  trace: TraceContext;
  /** The normalised request path: the one every routing and policy decision uses. */
  path: string;
  gateway: GatewayRuntime;
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
