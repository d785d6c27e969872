/**
 * @module Prints a JSON object of the gateway's Worker secrets that are set, for `wrangler deploy --secrets-file` and
 * `wrangler versions upload --secrets-file` (scripts/ci/secrets-file.sh runs it). Unset or empty ones are left out:
 * wrangler then keeps the value the Worker already has (secrets files are additive).
 *
 * Names: WORKER_SECRETS (the `Secret:` fields of src/env.ts; test/deploy/secrets.test.ts keeps them equal) plus the
 * ones the configuration names (issuers' `secret`, introspection `clientSecret`, alert channels' `secretName`,
 * `apiKeyName`, `authTokenName`). Values: the environment variable of that name, else that key of `$SECRETS_JSON`
 * (the workflows pass `toJSON(secrets)` there, so a secret name chosen in the configuration needs no workflow edit).
 *
 * Usage: node scripts/ci/secrets-file.ts [gateway.config.json]     --names: print the names only, one a line
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseGatewayConfigText } from '../../src/config/load.ts';
import type { GatewayConfig } from '../../src/config/schema.ts';

/** The secrets src/env.ts declares by name. */
export const WORKER_SECRETS = ['ADMIN_TOKEN', 'JWT_SECRET', 'METRICS_TOKEN', 'SENTRY_DSN', 'CF_ACCOUNT_ID', 'CF_ANALYTICS_TOKEN'] as const;

/** Every Workers secret the gateway reads with this configuration, sorted, each once. */
export function secretNames(config: GatewayConfig): string[] {
  const names = new Set<string>(WORKER_SECRETS);
  for (const issuer of config.gateway.auth.issuers) if (issuer.kind === 'secret') names.add(issuer.secret);
  for (const endpoint of config.gateway.auth.introspection) names.add(endpoint.clientSecret);
  for (const channel of config.gateway.alerting.channels) {
    for (const name of [channel.type === 'webhook' ? channel.secretName : undefined, channel.type === 'email' ? channel.apiKeyName : undefined, channel.type === 'sms' ? channel.authTokenName : undefined]) {
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/** The names that have a non-empty value, from the environment or from `secretsJson`. */
export function secretsFile(names: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const stored = env.SECRETS_JSON ? (JSON.parse(env.SECRETS_JSON) as Record<string, unknown>) : {};
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name] || stored[name];
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const file = args.find((arg) => !arg.startsWith('--')) ?? 'gateway.config.json';
  const names = secretNames(parseGatewayConfigText(readFileSync(file, 'utf8'), file));
  process.stdout.write(args.includes('--names') ? `${names.join('\n')}\n` : JSON.stringify(secretsFile(names, process.env)));
}
