/**
 * @module The simulator's measurement step: runs the real ServiceState, RateLimitBucket and ServiceRegistry
 * objects in workerd (Miniflare), calls each N times in a row with reports of the real size, and returns the
 * median time per call. The simulator models each object's service time with these figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface MeasuredServiceTimes {
  /** Ms per call of ServiceState.sync with one isolate's report (median over rounds of the rounds' means). */
  syncMs: number;
  /** Median ms per call of RateLimitBucket.acquire with one lease returned. */
  acquireMs: number;
  /** Median ms per call of ServiceRegistry.version. */
  versionMs: number;
  /** The same for the tier's ServiceRegion.sync and ServiceRegion.acquire. */
  regionSyncMs: number;
  regionAcquireMs: number;
  calls: number;
  requestsPerReport: number;
  reportBytes: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Builds the measurement Worker, runs it in workerd and answers the median of the rounds' means (the first round dropped as warm-up). */
export async function measureServiceTimes(calls = 2_000, requestsPerReport = 50): Promise<MeasuredServiceTimes> {
  const dir = mkdtempSync(join(tmpdir(), 'simulate-measure-'));
  const outfile = join(dir, 'worker.js');
  try {
    await build({
      entryPoints: [join(ROOT, 'scripts/simulate/measure-worker.ts')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      external: ['cloudflare:workers'],
      outfile,
      logLevel: 'warning',
    });
    const mf = new Miniflare({
      modules: true,
      script: readFileSync(outfile, 'utf8'),
      // The newest date the project's miniflare's workerd knows (wrangler.toml's is newer; nothing measured here depends on it).
      compatibilityDate: '2026-08-01',
      durableObjects: {
        SERVICE_STATE: { className: 'ServiceState', useSQLite: true },
        RATE_LIMITS: { className: 'RateLimitBucket', useSQLite: true },
        REGISTRY: { className: 'ServiceRegistry', useSQLite: true },
        SERVICE_REGIONS: { className: 'ServiceRegion', useSQLite: true },
      },
    });
    try {
      const response = await mf.dispatchFetch(`http://measure/?n=${calls}&requests=${requestsPerReport}`);
      if (!response.ok) throw new Error(`measurement Worker answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { sync: number[]; acquire: number[]; version: number[]; regionSync: number[]; regionAcquire: number[]; requestsPerReport: number; reportBytes: number };
      const warm = (values: number[]) => values.slice(1);
      return {
        syncMs: median(warm(body.sync)),
        acquireMs: median(warm(body.acquire)),
        versionMs: median(warm(body.version)),
        regionSyncMs: median(warm(body.regionSync)),
        regionAcquireMs: median(warm(body.regionAcquire)),
        calls,
        requestsPerReport: body.requestsPerReport,
        reportBytes: body.reportBytes,
      };
    } finally {
      await mf.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
