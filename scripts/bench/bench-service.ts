/**
 * @module The bench's service, shared by `npm run bench` (scripts/bench.ts) and the paired comparison of builds
 * (scripts/bench/builds-ab.ts): the gateway configuration under test, the token its clients send, what the nginx
 * origin answers, a Worker in its own `workerd serve`, and wrk runs with the serving process's CPU.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SignJWT } from 'jose';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { processCpuMicros } from './process-cpu.ts';
import { children, WORKERD } from './processes.ts';
import { workerdConfig, type WorkerSpec } from './workerd-config.ts';

export const ISSUER = 'https://issuer.bench.invalid';
export const AUDIENCE = 'bench-api';
/** The path every client request asks for. */
export const BENCH_PATH = '/bench/items/42?view=full';
/** What nginx answers as the origin. */
export const ORIGIN_LOCATIONS = `location / { default_type application/json; return 200 '{"id":42,"name":"sample","ok":true}'; }`;

/**
 * The gateway under test: two instances (both the nginx origin, so least connections has a choice), JWT auth
 * (HS256 from a secret, verified once per token and then cached, as in production), a rate limit high enough
 * never to refuse (its leases still have to be taken), the concurrency limit, the circuit breaker with outlier
 * ejection, least connections. `accessLogSampleRate` unset: the gateway's default.
 */
export function benchConfig(originUrl: string, accessLogSampleRate?: number): GatewayConfigInput {
  return {
    gateway: {
      auth: { issuers: [{ name: 'bench', issuer: ISSUER, kind: 'secret', secret: 'JWT_SECRET', audience: [AUDIENCE] }] },
      ...(accessLogSampleRate === undefined ? {} : { observability: { accessLog: { sampleRate: accessLogSampleRate } } }),
    },
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
          auth: { mode: 'jwt', issuers: ['bench'] },
          rateLimit: { limit: 60_000_000, windowSeconds: 60, burst: 1_000_000 },
          circuitBreaker: {},
          concurrency: { maxInFlight: 1_000, maxQueue: 1_000 },
        },
      },
    ],
  };
}

/** A bearer token the bench service accepts for a day. */
export function benchToken(jwtSecret: string): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('bench-client')
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + 24 * 3600)
    .sign(new TextEncoder().encode(jwtSecret));
}

export interface WrkResult {
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** User + system CPU of the serving process during the run, in µs (when its pid was given). */
  cpuMicros: number;
}

export function wrk(url: string, connections: number, seconds: number, options: { token?: string; pid?: number } = {}): WrkResult {
  const threads = Math.min(2, connections);
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency'];
  if (options.token) args.push('-H', `Authorization: Bearer ${options.token}`);
  const cpuBefore = options.pid === undefined ? 0 : processCpuMicros(options.pid);
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' });
  const cpuMicros = options.pid === undefined ? 0 : processCpuMicros(options.pid) - cpuBefore;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const latency = (pct: string) => {
    const match = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!match) throw new Error(`no p${pct} in wrk output:\n${out}`);
    return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
  };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, requests, p50Ms: latency('50'), p99Ms: latency('99'), errors, cpuMicros };
}

export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export interface StartedWorker {
  name: string;
  /** The bench path on the Worker's port. */
  url: string;
  pid: number;
}

/** Starts `spec` in its own plain `workerd serve` (its files in `workDir/<name>`), with the inspector when asked. */
export function startWorkerd(workDir: string, spec: WorkerSpec, inspectorPort?: number): StartedWorker {
  const dir = join(workDir, spec.name);
  mkdirSync(dir, { recursive: true });
  if (spec.durableObjects) mkdirSync(spec.durableObjects.storageDir, { recursive: true });
  // capnp embeds are relative to the config file.
  writeFileSync(join(dir, 'config.capnp'), workerdConfig({ ...spec, module: relative(dir, spec.module) }));
  const args = ['serve', join(dir, 'config.capnp')];
  if (inspectorPort !== undefined) args.push(`--inspector-addr=127.0.0.1:${inspectorPort}`);
  // The Workers' console (the gateway's access log: a line per request by default) goes to a file, as it goes to
  // a log pipeline in production: the write is still paid, a terminal's drawing is not. Errors stay on stderr.
  const log = openSync(join(dir, 'console.log'), 'w');
  const child = spawn(WORKERD, args, { stdio: ['ignore', log, 'inherit'] });
  closeSync(log);
  children.push(child);
  return { name: spec.name, url: `http://127.0.0.1:${spec.port}${BENCH_PATH}`, pid: child.pid! };
}
