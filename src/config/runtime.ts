/** @module A configuration compiled for the request path (router, pools, auth, CORS, edge rules), built once per configuration version. */
import bundledConfig from '../../gateway.config.json';
import { ServicePool } from '../balancing/service-pool.ts';
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

/**
 * The deployed base configuration for this environment: `GATEWAY_CONFIG` (JSON text, for per-environment overrides
 * and tests) when set, else the bundled `gateway.config.json`. The registry's live changes go on top of it
 * (src/control-plane/config-source.ts).
 * @throws ConfigError when it is invalid.
 */
export function baseConfig(source: string | undefined): GatewayConfig {
  return source === undefined ? parseGatewayConfig(bundledConfig) : parseGatewayConfigText(source, 'GATEWAY_CONFIG');
}
