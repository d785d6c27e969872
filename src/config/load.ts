/** @module Parses configuration at the boundary and reports each problem with the path of its field. */
import type { z } from 'zod';
import { GatewayConfigSchema, type GatewayConfig } from './schema.ts';

/** An invalid configuration; `issues` holds one line per problem, each starting with the field's path. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly source: string;
  readonly issues: string[];

  constructor(source: string, issues: string[]) {
    super(`invalid gateway configuration (${source}):\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.source = source;
    this.issues = issues;
  }
}

/** `['services', 2, 'instances', 0, 'url']` → `services[2].instances[0].url`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}

/** One line per issue: the field's path, then what was expected. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatFieldPath(issue.path) || '(root)'}: ${issue.message}`);
}

/**
 * Validates a configuration object and fills in defaults.
 * @throws ConfigError naming each bad field.
 */
export function parseGatewayConfig(input: unknown, source = 'gateway.config.json'): GatewayConfig {
  const result = GatewayConfigSchema.safeParse(input);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error));
  return result.data;
}

/** Like {@link parseGatewayConfig}, from JSON text. */
export function parseGatewayConfigText(text: string, source: string): GatewayConfig {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(source, [`(root): not valid JSON: ${(error as Error).message}`]);
  }
  return parseGatewayConfig(input, source);
}
