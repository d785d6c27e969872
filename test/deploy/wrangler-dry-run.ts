/** Runs `wrangler deploy --dry-run` the way CI deploys, and reads the sizes and bindings it reports. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

/** The environments wrangler.toml declares; '' is the top level (development). */
export const ENVIRONMENTS = ['', 'staging', 'production'] as const;

export interface DryRun {
  status: number | null;
  output: string;
  outdir: string;
  /** `Total Upload: … / gzip: … KiB` as wrangler prints it, or undefined when it printed none. */
  uploadKiB?: number;
  gzipKiB?: number;
}

/** `wrangler deploy --dry-run --env <environment> --outdir <tmp>`: builds the bundle exactly as a deploy would. */
export function dryRun(environment: string): DryRun {
  const outdir = mkdtempSync(join(tmpdir(), 'gateway-dry-run-'));
  const result = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', `--env=${environment}`, '--outdir', outdir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', CI: 'true' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  const sizes = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  return {
    status: result.status,
    output,
    outdir,
    uploadKiB: sizes ? Number(sizes[1]) : undefined,
    gzipKiB: sizes ? Number(sizes[2]) : undefined,
  };
}
