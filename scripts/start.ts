/**
 * @module `npm start`: validates the configuration, makes sure `.dev.vars` exists, starts the demo origins of
 * gateway.config.json and the gateway itself (`wrangler dev`), and stops them together.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, parseGatewayConfigText } from '../src/config/load.ts';
import { startEchoOrigin, type EchoOrigin } from './demo-origins.ts';
import { vendorAssets } from './vendor-assets.ts';

const root = new URL('..', import.meta.url);
const port = process.env.PORT ?? '8787';
// `npm start -- --config other.json` runs another configuration file, passed to the Worker as GATEWAY_CONFIG.
const { values: options } = parseArgs({ options: { config: { type: 'string' } } });
const configPath = options.config ? resolve(options.config) : fileURLToPath(new URL('gateway.config.json', root));
const configText = readFileSync(configPath, 'utf8');

let config;
try {
  config = parseGatewayConfigText(configText, options.config ?? 'gateway.config.json');
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

// Local secrets, never committed. Random values on first start, so no two checkouts share them.
const devVars = new URL('.dev.vars', root);
if (!existsSync(devVars)) {
  const secret = () => randomBytes(32).toString('base64url');
  writeFileSync(devVars, `JWT_SECRET=${secret()}\nADMIN_TOKEN=${secret()}\n`, { mode: 0o600 });
  console.log('created .dev.vars with random JWT_SECRET and ADMIN_TOKEN');
}

vendorAssets();

// One echo origin per configured instance that lives on this machine.
const origins: EchoOrigin[] = [];
for (const service of config.services) {
  for (const instance of service.instances) {
    const url = new URL(instance.url);
    if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') continue;
    origins.push(await startEchoOrigin({ service: service.name, instance: instance.id!, port: Number(url.port) }));
  }
}
console.log(`demo origins: ${origins.map((origin) => `${origin.instance}@${origin.port}`).join(', ')}`);

const wrangler = spawn(
  'wrangler',
  [
    'dev',
    ...['--ip', '127.0.0.1', '--port', port, '--show-interactive-dev-session=false'],
    ...(options.config ? ['--var', `GATEWAY_CONFIG:${JSON.stringify(JSON.parse(configText))}`] : []),
  ],
  { stdio: 'inherit', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
);

// `wrangler dev` fires no Cron Triggers: a first request arms each service's health-check alarm and the alert
// evaluation alarm, which then re-arm themselves. Make it now, so checks run before any traffic arrives.
void (async () => {
  for (let attempt = 0; attempt < 120; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/live`);
      if (response.ok) {
        console.log('health checks and alert evaluation armed');
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
})();

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    wrangler.kill('SIGTERM');
    await Promise.all(origins.map((origin) => origin.close()));
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
wrangler.on('exit', (code) => void stop(code ?? 0));
