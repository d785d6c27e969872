/**
 * @module `npm run load`: sustained load on the built gateway under plain `workerd serve` (no wrangler dev), with
 * real origins (nginx), the full policy chain and real JWTs. A fixed mix of requests (public, authenticated, missing
 * and forged tokens, rate-limited, a failing origin, a dead origin, an unknown route) runs at a fixed concurrency for
 * a fixed time with wrk; every answer is tallied by the kind of request it answers (wrk's Lua script tags each
 * request with an X-Request-Id the gateway echoes back). Prints requests/s, latency percentiles and the status mix,
 * and exits 1 when any answer has a status the policies do not predict for its kind, or on socket errors.
 *
 * Options: --connections N (default 64), --duration seconds (default 60), --threads N (default 2), --keep (leave
 * .load/ for inspection). Needs `wrk` and `nginx` (apt-get install -y wrk nginx).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import type { GatewayConfigInput } from '../src/config/schema.ts';
import { children, need, startNginx, waitForHttp, WORKERD } from './bench/processes.ts';
import { gatewayWorkerSpec, workerdConfig } from './bench/workerd-config.ts';
import { renderTable } from './cli/output.ts';
import { freePort } from './free-port.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORK = join(ROOT, '.load');
/** What nginx answers as the origin. */
const ORIGIN_LOCATIONS = `location /fail { default_type application/json; return 500 '{"error":"origin failure"}'; }
    location / { default_type application/json; return 200 '{"id":42,"ok":true}'; }`;
const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '64' },
    duration: { type: 'string', default: '60' },
    threads: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const CONNECTIONS = Number(args.connections);
const SECONDS = Number(args.duration);
const THREADS = Math.min(Number(args.threads), CONNECTIONS);
for (const [name, value] of Object.entries({ connections: CONNECTIONS, duration: SECONDS, threads: THREADS })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
}

const ISSUER = 'load-test';
const AUDIENCE = 'edge-gateway';

function loadConfig(originUrl: string, deadUrl: string): GatewayConfigInput {
  const jwt = { mode: 'jwt' as const, issuers: ['load'] };
  return {
    gateway: { auth: { issuers: [{ name: 'load', issuer: ISSUER, kind: 'secret', secret: 'JWT_SECRET', algorithms: ['HS256'], audience: [AUDIENCE] }] } },
    services: [
      { name: 'public', routes: [{ pathPrefix: '/public', rewritePrefix: '/api/public' }], instances: [{ url: originUrl }], policies: { auth: { mode: 'none' } } },
      {
        name: 'private',
        routes: [{ pathPrefix: '/private', rewritePrefix: '/api/private' }],
        instances: [{ url: originUrl }],
        policies: { auth: jwt, rateLimit: { limit: 60_000_000, windowSeconds: 60, burst: 1_000_000 }, circuitBreaker: {}, concurrency: { maxInFlight: 1_000, maxQueue: 1_000 } },
      },
      // 100 a minute with a burst of 20, per consumer: under load most of these must be refused with 429.
      { name: 'limited', routes: [{ pathPrefix: '/limited', rewritePrefix: '/api/limited' }], instances: [{ url: originUrl }], policies: { auth: jwt, rateLimit: { limit: 100, windowSeconds: 60, burst: 20, by: 'consumer' } } },
      // The origin answers 500: passed through until the breaker opens, then 503 while it is open.
      { name: 'failing', routes: [{ pathPrefix: '/failing', rewritePrefix: '/fail' }], instances: [{ url: originUrl }], policies: { auth: { mode: 'none' }, circuitBreaker: {} } },
      // Nothing listens: connection refused (502) until the breaker opens (503).
      { name: 'dead', routes: [{ pathPrefix: '/dead' }], instances: [{ url: deadUrl }], policies: { auth: { mode: 'none' }, circuitBreaker: {} } },
    ],
  };
}

/** The request kinds, their share of the mix (weight) and the statuses the policies allow for each. */
interface Kind {
  name: string;
  path: string;
  headers: Record<string, string>;
  weight: number;
  predicted: number[];
  why: string;
}

function kinds(token: string, forged: string): Kind[] {
  const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });
  return [
    { name: 'public', path: '/public/items/42', headers: {}, weight: 4, predicted: [200], why: 'no auth, healthy origin' },
    { name: 'authenticated', path: '/private/items/42', headers: bearer(token), weight: 4, predicted: [200], why: 'valid JWT, limits far above the load' },
    { name: 'no-token', path: '/private/items/42', headers: {}, weight: 1, predicted: [401], why: 'JWT required' },
    { name: 'forged-token', path: '/private/items/42', headers: bearer(forged), weight: 1, predicted: [401], why: 'signature does not verify' },
    { name: 'rate-limited', path: '/limited/items/42', headers: bearer(token), weight: 2, predicted: [200, 429], why: '100/min, burst 20, per consumer' },
    { name: 'failing-origin', path: '/failing/items/42', headers: {}, weight: 1, predicted: [500, 503], why: "origin's 500, then 503 once the breaker opens" },
    { name: 'dead-origin', path: '/dead/items/42', headers: {}, weight: 1, predicted: [502, 503], why: 'connection refused (502), then 503 from the open breaker' },
    { name: 'no-route', path: '/nowhere/42', headers: {}, weight: 1, predicted: [404], why: 'no route matches' },
  ];
}

function startWorkerd(port: number, config: GatewayConfigInput, jwtSecret: string): void {
  mkdirSync(join(WORK, 'durable-objects'), { recursive: true });
  const spec = gatewayWorkerSpec({
    name: 'gateway',
    port,
    // capnp embeds are relative to the config file.
    module: 'gateway/index.js',
    text: { GATEWAY_CONFIG: JSON.stringify(config), JWT_SECRET: jwtSecret, ADMIN_TOKEN: randomBytes(24).toString('hex') },
    root: ROOT,
    storageDir: join(WORK, 'durable-objects'),
    uniqueKeyPrefix: 'edge-gateway',
  });
  writeFileSync(join(WORK, 'load.capnp'), workerdConfig(spec));
  children.push(spawn(WORKERD, ['serve', join(WORK, 'load.capnp')], { stdio: ['ignore', 'ignore', 'inherit'] }));
}

/**
 * The wrk script: `request` cycles through the weighted mix and tags each request `X-Request-Id: <kind>-<n>`;
 * `response` tallies status by the kind in the echoed id; `done` merges the threads' tallies and prints them with
 * the latency percentiles, one `key value` per line, for this script to parse.
 */
function luaScript(mix: Kind[]): string {
  const lua = (value: string) => JSON.stringify(value);
  const entries = mix.flatMap((kind) =>
    Array.from({ length: kind.weight }, () => `{ name = ${lua(kind.name)}, path = ${lua(kind.path)}, headers = { ${Object.entries(kind.headers).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(', ')} } }`),
  );
  return `local mix = {
  ${entries.join(',\n  ')}
}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = 0; tally = {}; untagged = 0 end
function request()
  n = n + 1
  local kind = mix[(n % #mix) + 1]
  local headers = { ["X-Request-Id"] = kind.name .. "-" .. n }
  for k, v in pairs(kind.headers) do headers[k] = v end
  return wrk.format("GET", kind.path, headers)
end
function response(status, headers, body)
  local id = headers["x-request-id"] or headers["X-Request-Id"]
  local kind = id and id:match("^(.-)%-%d+$")
  if kind == nil then untagged = untagged + 1; return end
  local key = kind .. " " .. status
  tally[key] = (tally[key] or 0) + 1
end
function done(summary, latency, requests)
  local merged = {}
  local missing = 0
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("tally")) do merged[key] = (merged[key] or 0) + count end
    missing = missing + thread:get("untagged")
  end
  for key, count in pairs(merged) do io.write("status " .. key .. " " .. count .. "\\n") end
  io.write("untagged " .. missing .. "\\n")
  io.write("requests " .. summary.requests .. "\\n")
  io.write("duration_us " .. summary.duration .. "\\n")
  io.write("socket_errors " .. (summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout) .. "\\n")
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do io.write("latency_p" .. p .. "_us " .. latency:percentile(p) .. "\\n") end
  io.write("latency_max_us " .. latency.max .. "\\n")
end
`;
}

need('wrk');
need('nginx');
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

console.log('building the gateway bundle (wrangler deploy --dry-run, as deployed)…');
execFileSync(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--env=', '--outdir', join(WORK, 'gateway')], {
  cwd: ROOT,
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  stdio: 'ignore',
});

const [originPort, gatewayPort, deadPort] = await Promise.all([freePort(), freePort(), freePort()]);
const originUrl = `http://127.0.0.1:${originPort}`;
const jwtSecret = randomBytes(32).toString('hex');
const secretKey = new TextEncoder().encode(jwtSecret);
const sign = (key: Uint8Array) =>
  new SignJWT({ roles: [] }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('load-client').setIssuedAt().setExpirationTime(`${SECONDS + 600}s`).sign(key);
const token = await sign(secretKey);
const forged = await sign(new TextEncoder().encode(`${jwtSecret}-not`));
const mix = kinds(token, forged);

startNginx(WORK, originPort, ORIGIN_LOCATIONS);
startWorkerd(gatewayPort, loadConfig(originUrl, `http://127.0.0.1:${deadPort}`), jwtSecret);
const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
await Promise.all([waitForHttp(originUrl), waitForHttp(`${gatewayUrl}/public/items/42`)]);
const check = await fetch(`${gatewayUrl}/private/items/42`, { headers: { authorization: `Bearer ${token}` } });
if (check.status !== 200) throw new Error(`gateway answered ${check.status} to an authenticated request: ${await check.text()}`);

writeFileSync(join(WORK, 'mix.lua'), luaScript(mix));
console.log(`wrk: ${CONNECTIONS} connections, ${THREADS} threads, ${SECONDS} s, mix ${mix.map((k) => `${k.name}×${k.weight}`).join(' ')}`);
const out = execFileSync('wrk', ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${SECONDS}s`, '-s', join(WORK, 'mix.lua'), gatewayUrl], { encoding: 'utf8', maxBuffer: 16 << 20 });

const value = (key: string) => Number(new RegExp(`^${key} ([\\d.]+)$`, 'm').exec(out)?.[1] ?? NaN);
const statuses = [...out.matchAll(/^status (\S+) (\d+) (\d+)$/gm)].map(([, kind, status, count]) => ({ kind: kind!, status: Number(status), count: Number(count) }));
const requests = value('requests');
const seconds = value('duration_us') / 1e6;
const socketErrors = value('socket_errors');
const untagged = value('untagged');
const unpredicted = statuses.filter(({ kind, status }) => !mix.find((k) => k.name === kind)?.predicted.includes(status));

const rows = statuses
  .sort((a, b) => a.kind.localeCompare(b.kind) || a.status - b.status)
  .map(({ kind, status, count }) => {
    const known = mix.find((k) => k.name === kind);
    return [kind, status, count, `${((100 * count) / requests).toFixed(1)}%`, known?.predicted.includes(status) ? 'yes' : 'NO', known?.why ?? 'unknown kind'];
  });
const ms = (key: string) => (value(key) / 1000).toFixed(2);
console.log(`\n${renderTable(['kind', 'status', 'count', 'share', 'predicted', 'why'], rows)}\n`);
const result = {
  connections: CONNECTIONS,
  seconds: Number(seconds.toFixed(1)),
  requests,
  rps: Math.round(requests / seconds),
  latency_ms: { p50: Number(ms('latency_p50_us')), p90: Number(ms('latency_p90_us')), p99: Number(ms('latency_p99_us')), 'p99.9': Number(ms('latency_p99.9_us')), max: Number(ms('latency_max_us')) },
  socket_errors: socketErrors,
  untagged,
  unpredicted: unpredicted.map(({ kind, status, count }) => `${kind} ${status} ×${count}`),
};
console.log(`${result.rps} req/s over ${result.seconds} s at ${CONNECTIONS} connections; latency p50 ${result.latency_ms.p50} ms, p90 ${result.latency_ms.p90} ms, p99 ${result.latency_ms.p99} ms, max ${result.latency_ms.max} ms`);
console.log(`socket errors ${socketErrors}, answers without the request's id ${untagged}, unpredicted statuses ${unpredicted.length === 0 ? 'none' : result.unpredicted.join(', ')}`);
console.log(JSON.stringify(result));
for (const child of children) child.kill('SIGKILL');
if (!args.keep) rmSync(WORK, { recursive: true, force: true });
process.exit(unpredicted.length === 0 && socketErrors === 0 && untagged === 0 && statuses.length > 0 ? 0 : 1);
