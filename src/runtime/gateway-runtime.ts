/**
 * @module The gateway's runtime assembled from every layer (router, pools, auth, CORS, edge rules, security headers),
 * built once per configuration version. It sits above src/config/, src/routing/, src/balancing/ and src/policies/ and
 * is the only module that knows all of them.
 */
import { ServicePool } from '../balancing/service-pool.ts';
import { AuthRuntime } from '../policies/auth/auth-policy.ts';
import { corsPolicies, type CorsPolicy } from '../policies/cors.ts';
import { EdgeRules } from '../policies/edge-hygiene.ts';
import { namesForwardingReviews } from '../proxy/headers.ts';
import { SecurityHeaderSet } from '../policies/security-headers.ts';
import { Router } from '../routing/router.ts';
import type { GatewayConfig } from '../config/schema.ts';

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
    // Every name any service reserves: edge hygiene runs before routing, so before the service is known.
    const reserved = config.services.map((service) => this.auth.service(service.name).forwarding.reserved);
    this.edge = new EdgeRules(config.gateway, namesForwardingReviews(reserved));
    this.security = new SecurityHeaderSet(config.gateway.securityHeaders);
  }
}
