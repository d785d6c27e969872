import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { dryRun, ROOT } from './wrangler-dry-run.ts';

const budget = JSON.parse(readFileSync(join(ROOT, 'scripts/bundle-budget.json'), 'utf8')) as { gzipKiB: number };

describe('bundle budget', () => {
  it('keeps the production bundle under the gzip budget in scripts/bundle-budget.json (and never above 150 KiB)', () => {
    expect(budget.gzipKiB).toBeLessThanOrEqual(150);
    const run = dryRun('production');
    expect(run.status, run.output).toBe(0);
    expect(run.gzipKiB, `no size line in:\n${run.output}`).toBeDefined();
    // Cross-check wrangler's figure with our own gzip of the modules it wrote, so a change in its output format
    // cannot make the budget pass by reading the wrong number.
    const modules = readdirSync(run.outdir).filter((file) => /\.(js|mjs|wasm)$/.test(file));
    const ownGzipKiB = modules.reduce((sum, file) => sum + gzipSync(readFileSync(join(run.outdir, file))).length, 0) / 1024;
    expect(Math.abs(ownGzipKiB - run.gzipKiB!)).toBeLessThan(run.gzipKiB! * 0.05);
    expect(run.gzipKiB!, `bundle is ${run.gzipKiB} KiB gzip, budget ${budget.gzipKiB} KiB`).toBeLessThanOrEqual(budget.gzipKiB);
  });

  it('is minified, as wrangler.toml asks', () => {
    const run = dryRun('');
    expect(run.status, run.output).toBe(0);
    const source = readFileSync(join(run.outdir, 'index.js'), 'utf8');
    // Unminified esbuild output keeps one statement per line; minified output has a few very long lines.
    const lines = source.split('\n').length;
    expect(lines).toBeLessThan(source.length / 500);
  });

  it('ships zod with English error messages only (the [alias] in wrangler.toml)', () => {
    const run = dryRun('production');
    expect(run.status, run.output).toBe(0);
    const source = readFileSync(join(run.outdir, 'index.js'), 'utf8');
    // A word only zod's German locale has: present means all ~60 locales are back (about 258 KiB minified).
    expect(source).not.toContain('erwartet');
    expect(source).toContain('Invalid input');
  });

  it('leaves the OpenAPI generator out: the document is built at build time and read from the assets', () => {
    const run = dryRun('production');
    expect(run.status, run.output).toBe(0);
    const source = readFileSync(join(run.outdir, 'index.js'), 'utf8');
    // An error message of @asteasolutions/zod-to-openapi's generator: present means it is bundled again (~35 KiB).
    expect(source).not.toContain('Unknown zod object type');
    expect(source).toContain('/docs/admin-api.openapi.json');
  });

  it('leaves zod\'s JSON Schema generator out (the [alias] in wrangler.toml), and validates with zod still', () => {
    const run = dryRun('production');
    expect(run.status, run.output).toBe(0);
    const source = readFileSync(join(run.outdir, 'index.js'), 'utf8');
    // The generator's $schema URIs: present means it is bundled again (about 5.5 KiB gzip).
    expect(source).not.toContain('json-schema.org/draft');
    expect(source).toContain('JSON Schema generation is not in the Worker bundle');
    expect(source).toContain('Invalid input');
  });
});
