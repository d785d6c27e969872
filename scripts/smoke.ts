/**
 * @module `npm run smoke -- --url https://gateway-staging.example.com`: checks a running gateway the way CI does after
 * a deploy. Usable locally against any URL.
 *
 * Checks (each can be skipped, e.g. `--skip metrics` where no scrape token is configured):
 *   ready    GET <ready-path> (default /health/ready) answers 200          skip with --skip ready
 *   proxy    GET <proxy-path> (default /samples/smoke) answers <expect>     skip with --skip proxy
 *            (default 200) with an X-Request-Id, i.e. it went through the gateway to an origin
 *   metrics  GET <metrics-path> (default /metrics) with `Authorization:   skip with --skip metrics
 *            Bearer $METRICS_TOKEN` answers 200 with Prometheus text, and 401 without the token
 *
 * Options: --url (default $GATEWAY_URL or http://127.0.0.1:8787), --ready-path, --proxy-path, --proxy-token (bearer
 * for the proxied request, default $SMOKE_PROXY_TOKEN), --expect-status, --metrics-path, --skip a,b, --timeout ms
 * (per request, default 10000), --retries N (attempts while a fresh deploy propagates, default 1).
 * Exit codes: 0 all run checks passed, 1 a check failed, 2 bad usage.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export type CheckName = 'ready' | 'proxy' | 'metrics';
export const CHECKS: readonly CheckName[] = ['ready', 'proxy', 'metrics'];

export interface SmokeOptions {
  url: string;
  readyPath: string;
  proxyPath: string;
  proxyToken?: string;
  expectStatus: number;
  metricsPath: string;
  metricsToken?: string;
  skip: ReadonlySet<CheckName>;
  timeoutMs: number;
  retries: number;
}

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  detail: string;
}

async function get(options: SmokeOptions, path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(new URL(path, options.url), { headers, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
}

async function checkReady(options: SmokeOptions): Promise<CheckResult> {
  const response = await get(options, options.readyPath);
  await response.body?.cancel();
  return { check: 'ready', ok: response.status === 200, detail: `GET ${options.readyPath} → ${response.status}` };
}

async function checkProxy(options: SmokeOptions): Promise<CheckResult> {
  const headers: Record<string, string> = options.proxyToken ? { authorization: `Bearer ${options.proxyToken}` } : {};
  const response = await get(options, options.proxyPath, headers);
  await response.body?.cancel();
  // The gateway sets X-Request-Id on every answer it gives; a 200 without one came from something else (a parked
  // domain, a cached page), not through the gateway.
  const requestId = response.headers.get('x-request-id');
  const ok = response.status === options.expectStatus && requestId !== null;
  return { check: 'proxy', ok, detail: `GET ${options.proxyPath} → ${response.status} (expected ${options.expectStatus}), x-request-id ${requestId ?? 'missing'}` };
}

async function checkMetrics(options: SmokeOptions): Promise<CheckResult> {
  if (!options.metricsToken) return { check: 'metrics', ok: false, detail: 'METRICS_TOKEN is not set (or pass --skip metrics)' };
  const anonymous = await get(options, options.metricsPath);
  await anonymous.body?.cancel();
  const response = await get(options, options.metricsPath, { authorization: `Bearer ${options.metricsToken}` });
  const text = await response.text();
  // Prometheus text exposition: at least one `# TYPE` line.
  const ok = anonymous.status === 401 && response.status === 200 && /^# TYPE /m.test(text);
  return { check: 'metrics', ok, detail: `GET ${options.metricsPath} → ${anonymous.status} without token (expected 401), ${response.status} with it, ${text.length} bytes` };
}

const RUNNERS: Record<CheckName, (options: SmokeOptions) => Promise<CheckResult>> = { ready: checkReady, proxy: checkProxy, metrics: checkMetrics };

/** Runs every check not skipped, each up to `retries` times; never throws (a network error is a failed check). */
export async function runSmoke(options: SmokeOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of CHECKS) {
    if (options.skip.has(check)) continue;
    let result: CheckResult = { check, ok: false, detail: 'not run' };
    for (let attempt = 1; attempt <= options.retries; attempt++) {
      try {
        result = await RUNNERS[check](options);
      } catch (error) {
        result = { check, ok: false, detail: `${(error as Error).message}${(error as Error).cause ? ` (${String((error as Error).cause)})` : ''}` };
      }
      if (result.ok) break;
      // Back off between attempts: a new version reaches every location within seconds, not instantly.
      if (attempt < options.retries) await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** (attempt - 1), 8000)));
    }
    results.push(result);
  }
  return results;
}

export class UsageError extends Error {}

/** Parses the command line (and METRICS_TOKEN, GATEWAY_URL, SMOKE_PROXY_TOKEN from the environment). */
export function parseSmokeArgs(argv: string[], env: NodeJS.ProcessEnv): SmokeOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: env.GATEWAY_URL ?? 'http://127.0.0.1:8787' },
      'ready-path': { type: 'string', default: '/health/ready' },
      'proxy-path': { type: 'string', default: '/samples/smoke' },
      'proxy-token': { type: 'string', default: env.SMOKE_PROXY_TOKEN },
      'expect-status': { type: 'string', default: '200' },
      'metrics-path': { type: 'string', default: '/metrics' },
      skip: { type: 'string', default: '' },
      timeout: { type: 'string', default: '10000' },
      retries: { type: 'string', default: '1' },
    },
  });
  const skip = new Set(values.skip.split(',').map((name) => name.trim()).filter(Boolean));
  for (const name of skip) if (!CHECKS.includes(name as CheckName)) throw new UsageError(`--skip: unknown check "${name}" (checks: ${CHECKS.join(', ')})`);
  if (skip.size === CHECKS.length) throw new UsageError('--skip: every check skipped, nothing would be tested');
  const number = (name: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
    return value;
  };
  try {
    new URL(values.url);
  } catch {
    throw new UsageError(`--url: not a URL: ${values.url}`);
  }
  return {
    url: values.url,
    readyPath: values['ready-path'],
    proxyPath: values['proxy-path'],
    proxyToken: values['proxy-token'] || undefined,
    expectStatus: number('expect-status', values['expect-status'], 100),
    metricsPath: values['metrics-path'],
    metricsToken: env.METRICS_TOKEN || undefined,
    skip: skip as Set<CheckName>,
    timeoutMs: number('timeout', values.timeout, 1),
    retries: number('retries', values.retries, 1),
  };
}

async function main(): Promise<number> {
  let options: SmokeOptions;
  try {
    options = parseSmokeArgs(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`smoke: ${(error as Error).message}`);
    return 2;
  }
  console.log(`smoke test of ${options.url}`);
  const results = await runSmoke(options);
  for (const result of results) console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${result.check.padEnd(7)} ${result.detail}`);
  for (const check of options.skip) console.log(`skip ${check}`);
  return results.every((result) => result.ok) ? 0 : 1;
}

// Run as a script (not when a test imports runSmoke).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
