/** Configuration helpers for tests. */
import { ConfigError, parseGatewayConfig } from '../../src/config/load.ts';

/** The issues a configuration is refused with; fails the test if it is accepted. */
export function issuesOf(input: unknown): string[] {
  try {
    parseGatewayConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('configuration was accepted');
}
