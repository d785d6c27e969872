/** @module Bundles one of the bench's reference Workers (scripts/bench/*.ts) with esbuild, from the project's `hono`. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Bundles `scripts/bench/<name>.ts` into `outfile` as one ES module (esbuild keeps `// path` module markers). */
export async function buildReference(name: 'passthrough' | 'hono-bare' | 'hono-proxy' | 'duties-floor', outfile: string): Promise<void> {
  await build({
    entryPoints: [join(ROOT, 'scripts/bench', `${name}.ts`)],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    outfile,
    logLevel: 'warning',
  });
}
