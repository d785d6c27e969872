/**
 * @module `npm run bench`: the built gateway, with its full state plane on (rate limit, circuit breaker, outlier
 * ejection, least connections, each backed by a Durable Object), against a bare pass-through Worker, in one plain
 * `workerd serve` (no inspector, no dev-server logging), in front of the same nginx origin, loaded by wrk.
 * Prints a summary and, as its last line, the figures as JSON.
 *
 * Options (environment): BENCH_SECONDS (per run, default 10), BENCH_CONNECTIONS (default 32), BENCH_ROUNDS
 * (alternating pass-through/gateway pairs, default 5).
 *
 * Throughput on a shared VM drifts by ±25% from one run to the next, so each gateway run is compared with the
 * pass-through run just before it, and the median of those ratios is the `ratio` reported.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfigInput } from '../src/config/schema.ts';
import { freePort } from './free-port.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORK = join(ROOT, '.bench');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PATH = '/bench/items/42?view=full';
/** Opens the admin API of the benchmarked gateway, to read its state-plane counters. */
const ADMIN_TOKEN = randomBytes(24).toString('hex');

// The workerd that wrangler runs, so the bench measures the runtime `npm start` uses.
const wranglerRequire = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'));
const WORKERD = join(wranglerRequire.resolve('workerd/package.json'), '..', 'bin', 'workerd');

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

function need(command: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    console.error(`${command} is not installed: apt-get install -y ${command}`);
    process.exit(1);
  }
}

async function waitForHttp(url: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`${url} did not come up`);
}

function startNginx(port: number): void {
  const dir = join(WORK, 'nginx');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { default_type application/json; return 200 '{"id":42,"name":"sample","ok":true}'; }
  }
}
`,
  );
  children.push(spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'inherit' }));
}

/**
 * The gateway under test: two instances (both the nginx origin, so least connections has a choice) with the full
 * state plane on: a rate limit high enough never to refuse (its leases still have to be taken), the circuit
 * breaker, outlier ejection and least connections, each backed by its Durable Object.
 */
function benchConfig(originUrl: string): GatewayConfigInput {
  return {
    services: [
      {
        name: 'bench',
        routes: [{ pathPrefix: '/bench', rewritePrefix: '/api/v1/bench' }],
        instances: [
          { id: 'origin-a', url: originUrl },
          { id: 'origin-b', url: originUrl },
        ],
        loadBalancing: { strategy: 'least_connections' },
        policies: {
          rateLimit: { limit: 60_000_000, windowSeconds: 60, burst: 1_000_000 },
          circuitBreaker: {},
          concurrency: { maxInFlight: 1_000, maxQueue: 1_000 },
        },
      },
    ],
  };
}

function startWorkerd(gatewayPort: number, passthroughPort: number, originUrl: string): void {
  mkdirSync(join(WORK, 'durable-objects'), { recursive: true });
  writeFileSync(
    join(WORK, 'passthrough.js'),
    `// The floor: forward to the origin and return its response, nothing else.
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
`,
  );
  writeFileSync(
    join(WORK, 'bench.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
    (name = "passthrough", worker = .passthrough),
    (name = "net", network = (allow = ["public", "private", "local"])),
    (name = "do-disk", disk = (path = ${JSON.stringify(join(WORK, 'durable-objects'))}, writable = true)),
  ],
  sockets = [
    (name = "gateway", address = "127.0.0.1:${gatewayPort}", http = (), service = "gateway"),
    (name = "passthrough", address = "127.0.0.1:${passthroughPort}", http = (), service = "passthrough"),
  ],
);
const gateway :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "gateway/index.js")],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "GATEWAY_CONFIG", text = ${JSON.stringify(JSON.stringify(benchConfig(originUrl)))}),
    (name = "ADMIN_TOKEN", text = "${ADMIN_TOKEN}"),
    (name = "RATE_LIMITS", durableObjectNamespace = "RateLimitBucket"),
    (name = "SERVICE_STATE", durableObjectNamespace = "ServiceState"),
    (name = "REGISTRY", durableObjectNamespace = "ServiceRegistry"),
    (name = "API_KEYS", durableObjectNamespace = "ApiKeyStore"),
  ],
  durableObjectNamespaces = [
    (className = "RateLimitBucket", uniqueKey = "edge-gateway-RateLimitBucket", enableSql = true),
    (className = "ServiceState", uniqueKey = "edge-gateway-ServiceState", enableSql = true),
    (className = "ServiceRegistry", uniqueKey = "edge-gateway-ServiceRegistry", enableSql = true),
    (className = "ApiKeyStore", uniqueKey = "edge-gateway-ApiKeyStore", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-disk"),
  globalOutbound = "net",
);
const passthrough :Workerd.Worker = (
  modules = [(name = "passthrough.js", esModule = embed "passthrough.js")],
  compatibilityDate = "2026-11-01",
  bindings = [(name = "ORIGIN", text = ${JSON.stringify(originUrl.replace(/\/$/, '') + '/api/v1')})],
  globalOutbound = "net",
);
`,
  );
  children.push(spawn(WORKERD, ['serve', join(WORK, 'bench.capnp')], { stdio: 'inherit' }));
}

/** The gateway's state-plane counters (Durable Object calls per request and their kinds). */
async function statePlane(gatewayPort: number): Promise<{ requests: number; synchronousCalls: Record<string, number>; backgroundCalls: Record<string, number> }> {
  let response: Response | undefined;
  // A keep-alive connection left from an earlier fetch may have been closed by workerd meanwhile: try afresh.
  for (let attempt = 0; !response; attempt++) {
    try {
      response = await fetch(`http://127.0.0.1:${gatewayPort}/gateway/state-plane`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    } catch (error) {
      if (attempt >= 2) throw error;
    }
  }
  if (!response.ok) throw new Error(`state-plane endpoint answered ${response.status}: ${await response.text()}`);
  return response.json() as never;
}

const sumOf = (record: Record<string, number>) => Object.entries(record).filter(([kind]) => kind !== 'admin').reduce((total, [, n]) => total + n, 0);

interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function wrk(url: string, connections: number, seconds: number): WrkResult {
  const threads = Math.min(2, connections);
  const out = execFileSync('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', url], {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const latency = (pct: string) => {
    const match = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!match) throw new Error(`no p${pct} in wrk output:\n${out}`);
    return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
  };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p50Ms: latency('50'), p99Ms: latency('99'), errors };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number, digits = 3) => Number(value.toFixed(digits));

need('wrk');
need('nginx');
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

console.log('building the gateway bundle (wrangler deploy --dry-run)…');
execFileSync(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', join(WORK, 'gateway')], {
  cwd: ROOT,
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  stdio: 'ignore',
});

const [originPort, gatewayPort, passthroughPort] = await Promise.all([freePort(), freePort(), freePort()]);
const originUrl = `http://127.0.0.1:${originPort}`;
startNginx(originPort);
startWorkerd(gatewayPort, passthroughPort, originUrl);
const gatewayUrl = `http://127.0.0.1:${gatewayPort}${PATH}`;
const passthroughUrl = `http://127.0.0.1:${passthroughPort}${PATH}`;
await Promise.all([waitForHttp(originUrl), waitForHttp(gatewayUrl), waitForHttp(passthroughUrl)]);

const check = await fetch(gatewayUrl);
if (check.status !== 200) throw new Error(`gateway answered ${check.status}: ${await check.text()}`);

console.log(`warming up, then ${ROUNDS} alternating rounds of ${SECONDS}s at ${CONNECTIONS} connections…`);
wrk(passthroughUrl, CONNECTIONS, 2);
wrk(gatewayUrl, CONNECTIONS, 2);
const stateBefore = await statePlane(gatewayPort);
const nginx = wrk(`${originUrl}/api/v1/bench/items/42`, CONNECTIONS, SECONDS);
const passthrough: WrkResult[] = [];
const gateway: WrkResult[] = [];
for (let i = 0; i < ROUNDS; i++) {
  passthrough.push(wrk(passthroughUrl, CONNECTIONS, SECONDS));
  gateway.push(wrk(gatewayUrl, CONNECTIONS, SECONDS));
}
const stateAfter = await statePlane(gatewayPort);
const measuredRequests = stateAfter.requests - stateBefore.requests;
const synchronousCalls = sumOf(stateAfter.synchronousCalls) - sumOf(stateBefore.synchronousCalls);
const backgroundCalls = sumOf(stateAfter.backgroundCalls) - sumOf(stateBefore.backgroundCalls);
console.log('latency at 1 connection…');
const passthroughSerial = wrk(passthroughUrl, 1, SECONDS);
const gatewaySerial = wrk(gatewayUrl, 1, SECONDS);

const passthroughRps = median(passthrough.map((r) => r.rps));
const gatewayRps = median(gateway.map((r) => r.rps));
const pairRatios = gateway.map((r, i) => r.rps / passthrough[i]!.rps);
const errors = [...passthrough, ...gateway, passthroughSerial, gatewaySerial].reduce((sum, r) => sum + r.errors, 0);
const result = {
  passthrough_rps: round(passthroughRps, 0),
  gateway_rps: round(gatewayRps, 0),
  ratio: round(median(pairRatios)),
  pair_ratios: pairRatios.map((r) => round(r)),
  p50_passthrough_ms: round(passthroughSerial.p50Ms),
  p50_gateway_ms: round(gatewaySerial.p50Ms),
  p50_overhead_ms: round(gatewaySerial.p50Ms - passthroughSerial.p50Ms),
  p99_gateway_ms_at_connections: round(median(gateway.map((r) => r.p99Ms))),
  do_calls_per_request: round((synchronousCalls + backgroundCalls) / measuredRequests, 4),
  do_synchronous_calls_per_request: round(synchronousCalls / measuredRequests, 4),
  nginx_direct_rps: round(nginx.rps, 0),
  connections: CONNECTIONS,
  seconds_per_run: SECONDS,
  rounds: ROUNDS,
  non_2xx: errors,
};
console.log(
  `pass-through ${result.passthrough_rps} req/s, gateway ${result.gateway_rps} req/s (ratio ${result.ratio}); ` +
    `p50 at 1 connection: ${result.p50_passthrough_ms} ms vs ${result.p50_gateway_ms} ms (+${result.p50_overhead_ms} ms); ` +
    `Durable Object calls per request ${result.do_calls_per_request} (${result.do_synchronous_calls_per_request} on the request path); ` +
    `nginx direct ${result.nginx_direct_rps} req/s`,
);
console.log(JSON.stringify(result));
process.exit(errors > 0 ? 1 : 0);
