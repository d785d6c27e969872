import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretNames, WORKER_SECRETS } from '../../scripts/ci/secrets-file.ts';
import { parseGatewayConfig } from '../../src/config/load.ts';

// The secrets the code reads, the README's table, the CI secrets file and the workflows must name the same secrets:
// a secret set under a name the code does not read is silently useless.
const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** `NAME?: string` fields of Env whose doc comment starts with "Secret:". */
function envSecrets(): string[] {
  return [...read('src/env.ts').matchAll(/\/\*\* Secret: (?:(?!\*\/)[\s\S])*\*\/\s*([A-Z][A-Z0-9_]*)\?: string;/g)].map((match) => match[1]!).sort();
}

/** The first column of the README's secrets table, where it is one literal name. */
function readmeSecrets(): string[] {
  const section = read('README.md').split('### Secrets: every one in one place')[1]!.split('\n### ')[0]!;
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((match) => match[1]!).sort();
}

describe('secrets', () => {
  it('the secrets file knows exactly the secrets src/env.ts declares', () => {
    expect(envSecrets()).toEqual([...WORKER_SECRETS].sort());
  });

  it('the README table lists exactly those, and no name the code does not read', () => {
    expect(readmeSecrets()).toEqual([...WORKER_SECRETS].sort());
  });

  it('adds the secrets the configuration names: issuers, introspection, alert channels', () => {
    const config = parseGatewayConfig({
      gateway: {
        auth: {
          issuers: [{ name: 'partners', issuer: 'https://partners.example.com', kind: 'secret', secret: 'PARTNER_JWT_SECRET', audience: ['gateway'] }],
          introspection: [{ name: 'idp', url: 'https://idp.example.com/introspect', clientId: 'gateway' }],
        },
        alerting: {
          channels: [
            { name: 'hook', type: 'webhook', url: 'https://hooks.example.com/x', secretName: 'OPS_HOOK_SECRET' },
            { name: 'mail', type: 'email', from: 'gw@example.com', to: ['ops@example.com'], apiKeyName: 'RESEND_API_KEY' },
            { name: 'pager', type: 'sms', accountSid: 'AC0123456789abcdef0123456789abcdef', from: '+15550000000', to: ['+15550000001'], authTokenName: 'TWILIO_AUTH_TOKEN' },
          ],
        },
      },
      services: [{ name: 'orders', routes: [{ pathPrefix: '/orders' }], instances: [{ url: 'https://orders.example.com' }] }],
    });
    expect(secretNames(config)).toEqual([...WORKER_SECRETS, 'PARTNER_JWT_SECRET', 'INTROSPECTION_CLIENT_SECRET', 'OPS_HOOK_SECRET', 'RESEND_API_KEY', 'TWILIO_AUTH_TOKEN'].sort());
  });

  it('scripts/ci/secrets-file.sh writes the set ones, from the environment or SECRETS_JSON, and nothing else', () => {
    const env = { PATH: process.env.PATH, ADMIN_TOKEN: 'from-env', SENTRY_DSN: '', SECRETS_JSON: JSON.stringify({ CF_ANALYTICS_TOKEN: 'stored', CLOUDFLARE_API_TOKEN: 'deploy-only', CF_API_TOKEN: 'old-name' }) };
    const result = spawnSync(join(ROOT, 'scripts/ci/secrets-file.sh'), { env, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ ADMIN_TOKEN: 'from-env', CF_ANALYTICS_TOKEN: 'stored' });
  });

  it('the deploy workflows hand every secret to that script, not a list of their own', () => {
    for (const workflow of ['.github/workflows/deploy-staging.yml', '.github/workflows/deploy-production.yml']) {
      const text = read(workflow);
      expect(text).toContain('SECRETS_JSON: ${{ toJSON(secrets) }}');
      expect(text).toContain('scripts/ci/secrets-file.sh >');
      for (const stale of ['CF_API_TOKEN', 'ALERT_EMAIL_API_KEY', 'TWILIO_AUTH_TOKEN']) expect(text).not.toContain(stale);
    }
  });
});
