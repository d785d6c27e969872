/** @module The configuration this isolate runs on, compiled once per version and reused across requests. */
import bundledConfig from '../../gateway.config.json';
import { ServicePool } from '../balancing/service-pool.ts';
import type { Env } from '../env.ts';
import { Router } from '../routing/router.ts';
import { parseGatewayConfig, parseGatewayConfigText } from './load.ts';
import type { GatewayConfig } from './schema.ts';

export class GatewayRuntime {
  readonly router: Router;
  readonly pools: ReadonlyMap<string, ServicePool>;
  readonly config: GatewayConfig;

  constructor(config: GatewayConfig) {
    this.config = config;
    this.router = new Router(config.services);
    this.pools = new Map(config.services.map((service) => [service.name, new ServicePool(service)]));
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
