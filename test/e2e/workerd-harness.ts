/**
 * Starts the built gateway under plain `workerd serve` (the runtime wrangler uses, without the dev server in
 * front), for tests that need a direct connection: a client's disconnect or a short body reaches the Worker itself.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { freePort } from '../support/ports.ts';
import { E2E_ADMIN_TOKEN, ROOT, type RunningGateway } from './harness.ts';

const wranglerRequire = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'));
const WORKERD = join(wranglerRequire.resolve('workerd/package.json'), '..', 'bin', 'workerd');

let bundleDir: string | undefined;

/** Builds the Worker bundle once per test process (wrangler deploy --dry-run, offline). */
function bundle(): string {
  if (bundleDir) return bundleDir;
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bundle-'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', dir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    stdio: 'ignore',
  });
  return (bundleDir = dir);
}

/** `workerd serve` with the gateway bundle and `config`; resolves once it accepts connections. */
export async function startWorkerdGateway(config: GatewayConfigInput): Promise<RunningGateway> {
  const dir = bundle();
  const work = mkdtempSync(join(tmpdir(), 'gateway-workerd-'));
  mkdirSync(join(work, 'do'));
  // capnp embeds are read relative to the config file.
  copyFileSync(join(dir, 'index.js'), join(work, 'index.js'));
  const port = await freePort();
  const capnp = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gateway),
    (name = "net", network = (allow = ["public", "private", "local"])),
    (name = "do-disk", disk = (path = ${JSON.stringify(join(work, 'do'))}, writable = true)),
  ],
  sockets = [(name = "gateway", address = "127.0.0.1:${port}", http = (), service = "gateway")],
);
const gateway :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "index.js")],
  compatibilityDate = "2026-11-01",
  compatibilityFlags = ["enable_request_signal"],
  bindings = [
    (name = "GATEWAY_CONFIG", text = ${JSON.stringify(JSON.stringify(config))}),
    (name = "ADMIN_TOKEN", text = "${E2E_ADMIN_TOKEN}"),
    (name = "RATE_LIMITS", durableObjectNamespace = "RateLimitBucket"),
    (name = "SERVICE_STATE", durableObjectNamespace = "ServiceState"),
    (name = "REGISTRY", durableObjectNamespace = "ServiceRegistry"),
    (name = "API_KEYS", durableObjectNamespace = "ApiKeyStore"),
  ],
  durableObjectNamespaces = [
    (className = "RateLimitBucket", uniqueKey = "e2e-RateLimitBucket", enableSql = true),
    (className = "ServiceState", uniqueKey = "e2e-ServiceState", enableSql = true),
    (className = "ServiceRegistry", uniqueKey = "e2e-ServiceRegistry", enableSql = true),
    (className = "ApiKeyStore", uniqueKey = "e2e-ApiKeyStore", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-disk"),
  globalOutbound = "net",
);
`;
  writeFileSync(join(work, 'gateway.capnp'), capnp);
  const child = spawn(WORKERD, ['serve', '--experimental', join(work, 'gateway.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Bounded poll for the socket: workerd prints nothing when it is ready.
  for (let attempt = 0; ; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) break;
    if (attempt > 200 || child.exitCode !== null) throw new Error(`workerd did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(work, { recursive: true, force: true });
    },
  };
}
