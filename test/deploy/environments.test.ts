import { describe, expect, it } from 'vitest';
import { dryRun, ENVIRONMENTS } from './wrangler-dry-run.ts';

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
      for (const binding of ['RATE_LIMITS', 'SERVICE_STATE', 'REGISTRY', 'API_KEYS', 'ALERTS', 'GATEWAY_REQUESTS']) {
        expect(run.output, `${label} lacks ${binding}`).toContain(`env.${binding} (`);
      }
      const name = environment || 'development';
      expect(run.output).toContain(`env.GATEWAY_ENVIRONMENT ("${name}")`);
      expect(run.output).toContain(`gateway-alerts-${name}`);
      expect(run.output).toContain(`edge_gateway_${name}`);
    });
  }
});
