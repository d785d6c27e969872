import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoOrigin, type Echo, type EchoOrigin } from '../../scripts/demo-origins.ts';
import { E2E_ADMIN_TOKEN, rawRequest, ROOT, startGateway, type RunningGateway } from './harness.ts';

let gateway: RunningGateway;
let first: EchoOrigin;
let second: EchoOrigin;
const work = mkdtempSync(join(tmpdir(), 'gateway-cli-'));

beforeAll(async () => {
  [first, second] = await Promise.all([
    startEchoOrigin({ service: 'samples', instance: 'samples-1' }),
    startEchoOrigin({ service: 'samples', instance: 'samples-2' }),
  ]);
  gateway = await startGateway({
    gateway: { controlPlane: { allowPrivateOriginAddresses: true, pollIntervalMs: 5_000, allowedOriginHosts: [] } },
    services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: first.url }] }],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([first?.close(), second?.close()]);
});

/** `npm run gateway -- <args>` against the test gateway. */
function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/gateway-cli.ts'), ...args, '--url', gateway.url, '--token', E2E_ADMIN_TOKEN], { encoding: 'utf8', cwd: ROOT });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

async function instancesReached(path: string, requests: number): Promise<Set<string>> {
  const reached = new Set<string>();
  for (let i = 0; i < requests; i++) reached.add((await rawRequest(gateway.url, path)).json<Echo>().instance);
  return reached;
}

describe('the registry through the CLI, with traffic following', () => {
  it('registers an instance, and traffic reaches it', async () => {
    const register = cli('services', 'register', 'samples', second.url, '--id', 'samples-2', '--meta', 'zone=eu-1');
    expect(register.stderr).toBe('');
    expect(register.stdout).toContain(`registered samples-2 (${second.url}) in samples`);
    expect(await instancesReached('/samples/x', 4)).toEqual(new Set(['samples-1', 'samples-2']));
    expect(cli('services', 'list').stdout).toMatch(new RegExp(`^samples +\\S+ +samples-2 +${second.url} +1 +registry$`, 'm'));
  });

  it('refuses an invalid registration, printing the field and the reason', () => {
    const result = cli('services', 'register', 'samples', 'ftp://example.com');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('400 Invalid request');
    expect(result.stderr).toContain('url: expected http or https, got "ftp"');
  });

  it('adds a route, and traffic follows it', async () => {
    expect(cli('routes', 'add', 'samples', '/v2', '--id', 'samples-v2', '--strip').status).toBe(0);
    expect((await rawRequest(gateway.url, '/v2/items/1')).json<Echo>().path).toBe('/items/1');
    expect(cli('routes', 'list').stdout).toMatch(/^samples-v2 +\/v2 +samples +any +any +registry$/m);
  });

  it('exports the configuration, shows a dry run of a change, then applies it', async () => {
    const file = join(work, 'config.json');
    expect(cli('config', 'export', '--out', file).status).toBe(0);
    const config = JSON.parse(readFileSync(file, 'utf8'));
    config.services[0].timeouts.requestMs = 2_500;
    writeFileSync(file, JSON.stringify(config));
    const dryRun = cli('config', 'apply', file, '--dry-run');
    expect(dryRun.stdout).toMatch(/^change +services\[samples\]\.timeouts/m);
    expect(dryRun.stdout).toContain('(dry run: nothing applied)');
    const applied = cli('config', 'apply', file);
    expect(applied.stdout).toMatch(/applied: configuration version \d+/);
    expect(cli('config', 'export', '--json').stdout).toContain('"requestMs": 2500');
  });

  it('deregisters the instance, and traffic stops reaching it', async () => {
    expect(cli('services', 'deregister', 'samples', 'samples-2').stdout).toContain('deregistered samples-2');
    expect(await instancesReached('/samples/x', 4)).toEqual(new Set(['samples-1']));
  });

  it('shows the audit log of all of it', () => {
    const actions = cli('audit').stdout;
    for (const action of ['instance.register', 'route.create', 'config.apply', 'instance.deregister']) expect(actions).toContain(action);
  });
});
