/**
 * @module The simulator's measurement step: runs the real ServiceState, RateLimitBucket, ServiceRegistry and
 * ServiceRegion objects in workerd (Miniflare), calls each N times in a row with reports of the real size, and returns the
 * median time per call. The simulator models each object's service time with these figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import type { ServiceTimes } from '../../src/simulation/scenario.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What the simulator models an object's calls with (src/simulation/scenario.ts), and how it was measured. */
export interface MeasuredServiceTimes extends ServiceTimes {
  /** The medians the fit came from, and the size of a 100-report exchange. */
  exchangeOneMs: number;
  exchangeHundredMs: number;
  exchangeLeaseMs: number;
  hundredReportBytes: number;
  calls: number;
  requestsPerReport: number;
  reportBytes: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (ms: number) => Number(ms.toFixed(4));

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
      const body = (await response.json()) as {
        sync: number[];
        acquire: number[];
        version: number[];
        exchangeOne: number[];
        exchangeHundred: number[];
        exchangeLease: number[];
        requestsPerReport: number;
        reportBytes: number;
        hundredReportBytes: number;
      };
      const warm = (values: number[]) => values.slice(1);
      const one = median(warm(body.exchangeOne));
      const hundred = median(warm(body.exchangeHundred));
      const lease = median(warm(body.exchangeLease));
      const perReport = Math.max(0, (hundred - one) / 99);
      const base = Math.max(0, one - perReport);
      return {
        syncMs: median(warm(body.sync)),
        acquireMs: median(warm(body.acquire)),
        versionMs: median(warm(body.version)),
        exchangeBaseMs: round(base),
        exchangePerReportMs: round(perReport),
        exchangePerLeaseMs: round(Math.max(0, lease - base)),
        exchangeOneMs: one,
        exchangeHundredMs: hundred,
        exchangeLeaseMs: lease,
        hundredReportBytes: body.hundredReportBytes,
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
