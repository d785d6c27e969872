/** @module The deployed base configuration for this environment, before the registry's live changes. */
import bundledConfig from '../../gateway.config.json';
import { parseGatewayConfig, parseGatewayConfigText } from './load.ts';
import type { GatewayConfig } from './schema.ts';

/**
 * The deployed base configuration for this environment: `GATEWAY_CONFIG` (JSON text, for per-environment overrides
 * and tests) when set, else the bundled `gateway.config.json`. The registry's live changes go on top of it
 * (src/control-plane/config-source.ts).
 * @throws ConfigError when it is invalid.
 */
export function baseConfig(source: string | undefined): GatewayConfig {
  return source === undefined ? parseGatewayConfig(bundledConfig) : parseGatewayConfigText(source, 'GATEWAY_CONFIG');
}
