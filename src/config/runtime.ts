/** @module The configuration this isolate runs on, compiled once per version and reused across requests. */
import bundledConfig from '../../gateway.config.json';
import { ServicePool } from '../balancing/service-pool.ts';
import type { Env } from '../env.ts';
import { AuthRuntime } from '../policies/auth/auth-policy.ts';
import { corsPolicies, type CorsPolicy } from '../policies/cors.ts';
import { EdgeRules } from '../policies/edge-hygiene.ts';
import { SecurityHeaderSet } from '../policies/security-headers.ts';
import { Router } from '../routing/router.ts';
import { parseGatewayConfig, parseGatewayConfigText } from './load.ts';
import type { GatewayConfig } from './schema.ts';

export class GatewayRuntime {
  readonly router: Router;
  readonly pools: ReadonlyMap<string, ServicePool>;
  readonly config: GatewayConfig;
  /** Issuers, verifiers and caches, and each service's authentication and authorization policy. */
  readonly auth: AuthRuntime;
  /** CORS policy by service name, for services that have one. */
  readonly cors: ReadonlyMap<string, CorsPolicy>;
  readonly edge: EdgeRules;
  readonly security: SecurityHeaderSet;

  constructor(config: GatewayConfig) {
    this.config = config;
    this.router = new Router(config.services);
    this.pools = new Map(config.services.map((service) => [service.name, new ServicePool(service)]));
    this.auth = new AuthRuntime(config);
    this.cors = corsPolicies(config);
    this.edge = new EdgeRules(config.gateway);
    this.security = new SecurityHeaderSet(config.gateway.securityHeaders);
  }
}

let cached: { source: string | undefined; runtime: GatewayRuntime } | undefined;

/**
 * The runtime for this isolate's environment: `GATEWAY_CONFIG` (JSON text, for per-environment overrides and
 * tests) when set, else the bundled `gateway.config.json`. Parsed once; the per-instance balancing state lives
 * as long as the isolate does.
 * @throws ConfigError when the configuration is invalid.
 */
export function gatewayRuntime(env: Env): GatewayRuntime {
  const source = env.GATEWAY_CONFIG || undefined;
  if (cached && cached.source === source) return cached.runtime;
  const config =
    source === undefined ? parseGatewayConfig(bundledConfig) : parseGatewayConfigText(source, 'GATEWAY_CONFIG');
  cached = { source, runtime: new GatewayRuntime(config) };
  return cached.runtime;
}
