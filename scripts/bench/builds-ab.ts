/**
 * @module Builds of the gateway side by side under wrk, in paired rounds: how docs/performance.md measured changes
 * whose effect is in throughput rather than in CPU (one `waitUntil` per request cost 0.04–0.07 of the pass-through's
 * throughput with no change in CPU per request), too small for `npm run bench` to resolve between runs.
 *
 * Build each: `npx wrangler deploy --dry-run --no-minify --outdir <dir>`; then
 * `node scripts/bench/builds-ab.ts before=<dir> after=<dir> [before2=<dir>]` (a second copy of one build shows the
 * noise). Each round runs the pass-through, then every build, each in its own plain `workerd serve` with the
 * bench's service (bench-service.ts) in front of one nginx origin. Prints, per build, the median over rounds of its
 * throughput over the pass-through's in the same round, of its CPU per request, and of that CPU less the
 * pass-through's. Options (environment): R rounds (default 9), S seconds per run (4), C connections (32), P50=1 adds
 * p50 at one connection.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchConfig, benchToken, median, ORIGIN_LOCATIONS, startWorkerd, wrk, type WrkResult } from './bench-service.ts';
import { buildReference } from './build-reference.ts';
import { need, startNginx, waitForHttp } from './processes.ts';
import { GATEWAY_COMPATIBILITY_FLAGS, gatewayWorkerSpec } from './workerd-config.ts';
import { freePort } from '../free-port.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = join(ROOT, '.bench', 'builds-ab');
const ROUNDS = Number(process.env.R ?? 9);
const SECONDS = Number(process.env.S ?? 4);
const CONNECTIONS = Number(process.env.C ?? 32);
const ADMIN_TOKEN = randomBytes(24).toString('hex');
const JWT_SECRET = randomBytes(32).toString('hex');

const builds = process.argv.slice(2).map((arg) => {
  const [name, dir] = arg.split('=');
  if (!name || !dir) throw new Error(`expected name=<build dir>, got "${arg}"`);
  return { name, module: join(dir, 'index.js') };
});
if (builds.length === 0) throw new Error('usage: node scripts/bench/builds-ab.ts before=<dir> after=<dir> …');

need('wrk');
need('nginx');
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

const originPort = await freePort();
const originUrl = `http://127.0.0.1:${originPort}`;
startNginx(WORK, originPort, ORIGIN_LOCATIONS);
await buildReference('passthrough', join(WORK, 'passthrough.js'));
const passthrough = startWorkerd(WORK, { name: 'passthrough', port: await freePort(), module: join(WORK, 'passthrough.js'), text: { ORIGIN: `${originUrl}/api/v1` }, compatibilityFlags: [...GATEWAY_COMPATIBILITY_FLAGS] });
const config = JSON.stringify(benchConfig(originUrl));
const gateways = [];
for (const build of builds) {
  const port = await freePort();
  gateways.push(startWorkerd(WORK, gatewayWorkerSpec({ name: build.name, port, module: build.module, text: { GATEWAY_CONFIG: config, ADMIN_TOKEN, JWT_SECRET }, root: ROOT, storageDir: join(WORK, build.name, 'durable-objects') })));
}
await Promise.all([originUrl, passthrough.url, ...gateways.map((g) => g.url)].map(waitForHttp));
const token = await benchToken(JWT_SECRET);
for (const target of [passthrough, ...gateways]) {
  const warm = wrk(target.url, CONNECTIONS, 2, { token });
  if (warm.errors > 0) throw new Error(`${target.name}: ${warm.errors} non-2xx answers while warming up`);
}

const runs = new Map<string, WrkResult[]>([[passthrough.name, []], ...gateways.map((g) => [g.name, []] as [string, WrkResult[]])]);
for (let round = 0; round < ROUNDS; round++) {
  const line: string[] = [];
  for (const target of [passthrough, ...gateways]) {
    const result = wrk(target.url, CONNECTIONS, SECONDS, { token, pid: target.pid });
    if (result.errors > 0) throw new Error(`${target.name}: ${result.errors} non-2xx answers`);
    runs.get(target.name)!.push(result);
    line.push(`${target.name} ${result.rps.toFixed(0)} req/s ${(result.cpuMicros / result.requests).toFixed(0)} µs`);
  }
  console.log(`round ${round + 1}: ${line.join(' | ')}`);
}
const base = runs.get(passthrough.name)!;
const cpu = (r: WrkResult) => r.cpuMicros / r.requests;
for (const [name, results] of runs) {
  const ratio = median(results.map((r, i) => r.rps / base[i]!.rps));
  const above = median(results.map((r, i) => cpu(r) - cpu(base[i]!)));
  console.log(`${name.padEnd(14)} ratio ${ratio.toFixed(3)}  CPU per request ${median(results.map(cpu)).toFixed(1)} µs  above the pass-through ${above.toFixed(1)} µs`);
}
if (process.env.P50) {
  for (const target of [passthrough, ...gateways]) console.log(`${target.name.padEnd(14)} p50 at 1 connection ${wrk(target.url, 1, SECONDS, { token }).p50Ms} ms`);
}
process.exit(0);
