/** Starts the real gateway under `wrangler dev` for end-to-end tests, and sends raw HTTP to it. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { vendorAssets } from '../../scripts/vendor-assets.ts';
import { freePort } from '../support/ports.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

/** The ADMIN_TOKEN of every gateway startGateway starts (unless the test passes its own). */
export const E2E_ADMIN_TOKEN = 'e2e-admin-token-for-tests-0123456789';
export const E2E_ADMIN_HEADERS = { authorization: `Bearer ${E2E_ADMIN_TOKEN}` };

export interface RunningGateway {
  url: string;
  port: number;
  /** Everything wrangler printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `wrangler dev` on a free port with `config` as GATEWAY_CONFIG; resolves once it is ready. With `persistTo`,
 * Durable Object storage lives there and survives `stop()`, so a second gateway started on it is a restart (every
 * object and isolate reset, storage kept).
 */
export async function startGateway(config: GatewayConfigInput, vars: Record<string, string> = {}, options: { persistTo?: string } = {}): Promise<RunningGateway> {
  vendorAssets();
  const port = await freePort();
  const persist = options.persistTo ?? mkdtempSync(join(tmpdir(), 'gateway-e2e-'));
  const varArgs = Object.entries({ ADMIN_TOKEN: E2E_ADMIN_TOKEN, GATEWAY_CONFIG: JSON.stringify(config), ...vars }).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const child = spawn(
    process.execPath,
    [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', '0', '--persist-to', persist, '--show-interactive-dev-session=false', ...varArgs],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`Ready on http://127.0.0.1:${port}`)) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`wrangler dev exited with ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      if (!options.persistTo) rmSync(persist, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json<T = unknown>(): T;
}

/**
 * Sends a request with the path exactly as given (no client-side normalisation, unlike fetch), so tests can send
 * `//evil.example/x`, `%2e%2e` and friends as an attacker would.
 */
export function rawRequest(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Re-runs `check` until it passes, within a bounded time: for state that background work (syncs, the trailing flush)
 * brings about after the requests that cause it have been answered.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
