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
import { gatewayWorkerSpec, workerdConfig } from '../../scripts/bench/workerd-config.ts';
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

/** `workerd serve` with the gateway bundle, `config` and `vars` (secrets); resolves once it accepts connections. */
export async function startWorkerdGateway(config: GatewayConfigInput, vars: Record<string, string> = {}): Promise<RunningGateway> {
  const dir = bundle();
  const work = mkdtempSync(join(tmpdir(), 'gateway-workerd-'));
  mkdirSync(join(work, 'do'));
  // capnp embeds are read relative to the config file.
  copyFileSync(join(dir, 'index.js'), join(work, 'index.js'));
  const port = await freePort();
  const capnp = workerdConfig(
    gatewayWorkerSpec({
      name: 'gateway',
      port,
      module: 'index.js',
      text: { GATEWAY_CONFIG: JSON.stringify(config), ADMIN_TOKEN: E2E_ADMIN_TOKEN, ...vars },
      root: ROOT,
      storageDir: join(work, 'do'),
      uniqueKeyPrefix: 'e2e',
    }),
  );
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
