/**
 * @module The whole gateway as a micro-benchmark: its fetch handler called in a loop inside workerd, the origin
 * answered in-process (app-micro-worker.js), so the figure is the gateway's own work per request (µs of wall time
 * in an otherwise idle isolate, its Durable Objects in the same process) without the network and HTTP parsing that
 * make wrk runs drift. Several builds side by side, alternating, best and median of rounds: how docs/performance.md
 * tells apart changes of 10-20 µs that `npm run bench` cannot resolve on a shared machine.
 *
 * Build each variant: `npx wrangler deploy --dry-run --no-minify --outdir <dir>`; then
 * `node scripts/bench/micro/app-micro.ts before=<dir> after=<dir>` (R rounds, default 7; N requests per round,
 * default 3000; PROF=40 prints the 40 costliest functions of a CPU profile of each instead). `floor` is the same
 * loop calling the stubbed fetch directly. The bench's service and chain (scripts/bench.ts), with the origin's
 * URL replaced by an in-process answer; ML=<n> sets the rate limit's maxLease. `name=<dir>@auth,recording` runs a
 * build with those parts off (SWITCHES below); every target after the first is also reported as the median and
 * quartiles of its paired differences against the first.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { benchConfig, benchToken } from '../bench-service.ts';
import { children, waitForHttp, WORKERD } from '../processes.ts';
import { gatewayWorkerSpec, workerdConfig } from '../workerd-config.ts';
import { freePort } from '../../free-port.ts';
import { profileLedger } from '../cpu-profile.ts';
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const WORK = join(ROOT, '.bench', 'app-micro');
rmSync(WORK, { recursive: true, force: true });
const ROUNDS = Number(process.env.R ?? 7), N = Number(process.env.N ?? 3000);
const JWT_SECRET = randomBytes(32).toString('hex');
// The bench's service, its origin answered in-process (app-micro-worker.js).
const config = benchConfig('http://origin.invalid') as any;
if (process.env.ML) config.services[0].policies.rateLimit.maxLease = Number(process.env.ML);
const targets: { name: string; port: number; inspector: number; bundle: string }[] = [];
/**
 * Switches, after `@` in a target (`noauth=<dir>@auth`, `bare=<dir>@auth,rateLimit,recording`): the same build
 * with parts of the chain off by configuration, to confirm the ledger by switching (docs/performance.md).
 */
const SWITCHES: Record<string, (c: any) => void> = {
  auth: (c) => delete c.services[0].policies.auth,
  rateLimit: (c) => delete c.services[0].policies.rateLimit,
  concurrency: (c) => delete c.services[0].policies.concurrency,
  circuitBreaker: (c) => delete c.services[0].policies.circuitBreaker,
  leastConnections: (c) => (c.services[0].loadBalancing = { strategy: 'round_robin' }),
  recording: (c) => (c.gateway.observability = { ...c.gateway.observability, recording: false }),
  accessLog: (c) => (c.gateway.observability = { ...c.gateway.observability, accessLog: { level: 'off' } }),
  securityHeaders: (c) => (c.gateway.securityHeaders = { hstsMaxAgeSeconds: 0, frameOptions: 'off', referrerPolicy: 'off', contentTypeOptions: false }),
};
for (const arg of process.argv.slice(2)) {
  const [name, target] = arg.split('=') as [string, string];
  const [dir, off = ''] = target.split('@') as [string, string?];
  const targetConfig = structuredClone(config) as any;
  for (const part of off.split(',').filter(Boolean)) {
    if (!SWITCHES[part]) throw new Error(`unknown switch "${part}"; known: ${Object.keys(SWITCHES).join(', ')}`);
    SWITCHES[part](targetConfig);
  }
  const wd = join(WORK, name); mkdirSync(join(wd, 'do'), { recursive: true });
  copyFileSync(join(dir, 'index.js'), join(wd, 'index.js'));
  copyFileSync(fileURLToPath(new URL('app-micro-worker.js', import.meta.url)), join(wd, 'micro.js'));
  const port = await freePort();
  const spec = gatewayWorkerSpec({ name, port, module: 'micro.js', text: { GATEWAY_CONFIG: JSON.stringify(targetConfig), ADMIN_TOKEN: 'x'.repeat(32), JWT_SECRET }, root: ROOT, storageDir: join(wd, 'do') });
  let capnp = workerdConfig(spec);
  capnp = capnp.replace('modules = [(name = "index.js", esModule = embed "micro.js")]', 'modules = [(name = "micro.js", esModule = embed "micro.js"), (name = "index.js", esModule = embed "index.js")]');
  writeFileSync(join(wd, 'config.capnp'), capnp);
  const log = openSync(join(wd, 'console.log'), 'w');
  const inspector = await freePort();
  children.push(spawn(WORKERD, ['serve', join(wd, 'config.capnp'), ...(process.env.PROF ? [`--inspector-addr=127.0.0.1:${inspector}`] : [])], { stdio: ['ignore', log, 'inherit'] })); closeSync(log);
  targets.push({ name, port, inspector, bundle: join(wd, 'index.js') });
}
const token = await benchToken(JWT_SECRET);
await Promise.all(targets.map((t) => waitForHttp(`http://127.0.0.1:${t.port}/?n=1`)));
if (process.env.PROF) {
  for (const t of targets) {
    await fetch(`http://127.0.0.1:${t.port}/?n=2000`, { headers: { authorization: `Bearer ${token}` } });
    const n = 20000;
    const ledger = await profileLedger({ inspectorPort: t.inspector, service: t.name, bundlePath: t.bundle, load: async () => { await (await fetch(`http://127.0.0.1:${t.port}/?n=${n}`, { headers: { authorization: `Bearer ${token}` } })).text(); return n + 200; } });
    console.log(t.name, 'total', ledger.totalUs);
    console.log(Object.entries(ledger.functions).sort(([, a], [, b]) => b - a).slice(0, Number(process.env.PROF)).map(([k, v]) => `  ${v.toFixed(2)}  ${k}`).join('\n'));
  }
  process.exit(0);
}
const results: Record<string, number[]> = {};
const modes = [['floor', 'fetch'], ...targets.map((t) => [t.name, 'gateway'])] as const;
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, mode] of modes) {
    const t = mode === 'fetch' ? targets[0]! : targets.find((x) => x.name === name)!;
    const res = await fetch(`http://127.0.0.1:${t.port}/?n=${N}&mode=${mode}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (!res.ok) throw new Error(`${name}: ${text}`);
    (results[name] ??= []).push(JSON.parse(text).us);
  }
}
const sorted = (v: number[]) => [...v].sort((a, b) => a - b);
const quantile = (v: number[], q: number) => sorted(v)[Math.floor((v.length - 1) * q)]!;
const first = targets[0]!.name;
for (const [name, v] of Object.entries(results)) {
  // Rounds alternate, so round r of every target ran under about the same load: the paired differences against
  // the first target drift far less than either figure.
  const diffs = v.map((us, r) => us - results[first]![r]!);
  const paired = name === 'floor' || name === first ? '' : `  vs ${first}: ${quantile(diffs, 0.5).toFixed(1)} µs (quartiles ${quantile(diffs, 0.25).toFixed(1)}, ${quantile(diffs, 0.75).toFixed(1)})`;
  console.log(`${name.padEnd(12)} best ${sorted(v)[0]} µs  median ${quantile(v, 0.5)} µs${paired}  (${v.join(' ')})`);
}
process.exit(0);
