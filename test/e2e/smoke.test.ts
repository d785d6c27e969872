import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

// scripts/smoke.ts is what CI runs against staging after a deploy. Here it runs, as CI runs it, against a real
// gateway under `wrangler dev` with a real origin and a scrape token: all three checks (readiness, a proxied request,
// Prometheus metrics with and without the token); the failure cases prove that a check which does not get its answer
// fails the run.
const METRICS_TOKEN = 'e2e-metrics-scrape-token-0123456789';
let gateway: RunningGateway;
let samples: TestOrigin;

beforeAll(async () => {
  samples = await startOrigin(answer('samples'));
  gateway = await startGateway({ services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ url: samples.url }] }] }, { METRICS_TOKEN });
});

afterAll(async () => {
  await gateway?.stop();
  await samples?.close();
});

function smoke(args: string[], metricsToken = ''): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['scripts/smoke.ts', ...args], { cwd: ROOT, env: { ...process.env, METRICS_TOKEN: metricsToken }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('scripts/smoke.ts against a running gateway', () => {
  it('passes (exit 0) with every check: ready, a proxied request through to the origin, metrics behind the token', async () => {
    const run = await smoke(['--url', gateway.url, '--proxy-path', '/samples/smoke'], METRICS_TOKEN);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/^ok {3}ready {3}GET \/health\/ready → 200$/m);
    expect(run.output).toMatch(/^ok {3}proxy .*→ 200/m);
    expect(run.output).toMatch(/^ok {3}metrics GET \/metrics → 401 without token \(expected 401\), 200 with it, \d+ bytes$/m);
    expect(run.output).not.toMatch(/^skip/m);
    expect(samples.requests.some((request) => request.url === '/samples/smoke')).toBe(true);
  });

  it('fails (exit 1) on the metrics check with a wrong token', async () => {
    const run = await smoke(['--url', gateway.url, '--skip', 'ready,proxy'], 'not-the-metrics-token-0123456789');
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/FAIL metrics .*401 with it/);
  });

  it('fails (exit 1) when the proxied request does not answer as expected', async () => {
    const run = await smoke(['--url', gateway.url, '--proxy-path', '/no-such-service', '--skip', 'ready,metrics']);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/FAIL proxy .*→ 404/);
  });

  it('fails (exit 1) when the readiness path does not answer 200', async () => {
    const run = await smoke(['--url', gateway.url, '--ready-path', '/no-such-health', '--skip', 'proxy,metrics']);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/FAIL ready/);
  });

  it('fails (exit 1) on the metrics check when METRICS_TOKEN is missing, rather than passing silently', async () => {
    const run = await smoke(['--url', gateway.url, '--skip', 'ready,proxy']);
    expect(run.code, run.output).toBe(1);
    expect(run.output).toMatch(/FAIL metrics .*METRICS_TOKEN is not set/);
  });

  it('fails (exit 1) when nothing listens at the URL', async () => {
    const run = await smoke(['--url', 'http://127.0.0.1:9', '--skip', 'ready,metrics', '--timeout', '2000']);
    expect(run.code, run.output).toBe(1);
  });

  it('exits 2 on bad usage', async () => {
    expect((await smoke(['--skip', 'ready,proxy,metrics'])).code).toBe(2);
    expect((await smoke(['--skip', 'nonsense'])).code).toBe(2);
  });
});
