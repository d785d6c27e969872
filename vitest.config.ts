import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        // Unit and integration tests inside workerd, the runtime the gateway ships on.
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        test: {
          name: 'workers',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/deploy/**'],
          globalSetup: ['test/support/origins.global-setup.ts'],
        },
      },
      {
        // End-to-end: real demo origins and the real gateway under `wrangler dev`, over real HTTP.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Deployability: `wrangler deploy --dry-run` per environment, the bundle budget, the CI workflow lint.
        test: {
          name: 'deploy',
          include: ['test/deploy/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
    ],
  },
});
