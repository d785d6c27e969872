import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dryRun, ENVIRONMENTS, ROOT } from './wrangler-dry-run.ts';

// A configuration that would not deploy (a bad binding, a Durable Object class the Worker does not export, a
// migration that names an unknown class, invalid TOML) fails here rather than in CI's deploy job.
describe('wrangler deploy --dry-run', () => {
  for (const environment of ENVIRONMENTS) {
    const label = environment || 'development (top level)';
    it(`builds a deployable Worker for ${label} with its own bindings`, () => {
      const run = dryRun(environment);
      expect(run.status, run.output).toBe(0);
      expect(run.output).not.toMatch(/✘|\[ERROR\]/);
      // Bindings do not inherit into [env.*]: each environment must list every Durable Object and its own dataset,
      // queue and GATEWAY_ENVIRONMENT, or the deployed Worker would run without them.
      for (const binding of ['RATE_LIMITS', 'SERVICE_STATE', 'REGISTRY', 'API_KEYS', 'ALERTS', 'REQUEST_ANALYTICS']) {
        expect(run.output, `${label} lacks ${binding}`).toContain(`env.${binding} (`);
      }
      const name = environment || 'development';
      expect(run.output).toContain(`env.GATEWAY_ENVIRONMENT ("${name}")`);
      expect(run.output).toContain(`gateway-alerts-${name}`);
      expect(run.output).toContain(`edge_gateway_${name}`);
    });
  }
});

describe('Durable Object migrations', () => {
  // Each environment is its own Worker and applies its own [[migrations]]; they must be the same list in the same
  // order, or one environment's objects would be created, renamed or deleted differently from the others'.
  // scripts/ci/migration-tags.sh is also what the production workflow uses to spot a release that adds one.
  const tagsOf = (environment: string) =>
    execFileSync('bash', [join(ROOT, 'scripts/ci/migration-tags.sh'), environment], { input: readFileSync(join(ROOT, 'wrangler.toml')), encoding: 'utf8' }).trim().split('\n');

  it('lists the same migration tags, in the same order, in every environment', () => {
    const development = tagsOf('');
    expect(development[0]).toBe('v1');
    for (const environment of ENVIRONMENTS) expect(tagsOf(environment), environment || 'development').toEqual(development);
  });
});
