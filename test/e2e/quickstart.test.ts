import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import { freePort } from '../support/ports.ts';
import { rawRequest, ROOT } from './harness.ts';

// `npm start` as a newcomer runs it: the bundled configuration, its seven demo origins on their fixed ports.
let start: ChildProcess;
let port: number;
let output = '';

beforeAll(async () => {
  port = await freePort();
  start = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`Ready on http://127.0.0.1:${port}`)) resolve();
    };
    start.stdout!.on('data', onData);
    start.stderr!.on('data', onData);
    start.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
});

/** What `npm run -s token -- …args` prints, as a newcomer would run it. */
function devToken(...args: string[]): string {
  const result = spawnSync('npm', ['run', '-s', 'token', '--', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run token failed: ${result.stderr}`);
  return result.stdout.trim();
}

afterAll(async () => {
  if (start.exitCode === null) {
    const exited = once(start, 'exit');
    process.kill(-start.pid!, 'SIGTERM');
    await exited;
  }
});

describe('npm start', () => {
  it('serves /samples/42 from the samples demo origin', async () => {
    const response = await rawRequest(`http://127.0.0.1:${port}`, '/samples/42');
    expect(response.status).toBe(200);
    expect(response.json<Echo>()).toMatchObject({ service: 'samples', method: 'GET', path: '/api/v1/samples/42', bodyBytes: 0 });
  });

  it('runs all seven demo services behind the gateway, with a token from `npm run token`', async () => {
    const token = devToken('--sub', 'alice');
    for (const service of ['auth', 'samples', 'storage', 'templates', 'sequencing', 'notifications', 'rag']) {
      const response = await rawRequest(`http://127.0.0.1:${port}`, `/${service}/ping`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.json<Echo>().service).toBe(service);
      // GET on samples is public: the gateway does not look at credentials there, so it names no caller.
      expect(response.json<Echo>().headers['x-user-id']).toBe(service === 'samples' ? undefined : 'alice');
    }
  });

  it('asks for a token on the protected services, and serves their public paths without one', async () => {
    const response = await rawRequest(`http://127.0.0.1:${port}`, '/storage/files/1');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toContain('Bearer realm="edge-gateway"');
    expect((await rawRequest(`http://127.0.0.1:${port}`, '/auth/login', { method: 'POST', body: '{}' })).status).toBe(200);
    expect((await rawRequest(`http://127.0.0.1:${port}`, '/rag/health')).status).toBe(200);
  });

  it('takes roles from `npm run token -- --roles`: DELETE on storage needs the admin role', async () => {
    const path = '/storage/files/1';
    const headersOf = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, method: 'DELETE' });
    expect((await rawRequest(`http://127.0.0.1:${port}`, path, headersOf(devToken('--sub', 'bob')))).status).toBe(403);
    expect((await rawRequest(`http://127.0.0.1:${port}`, path, headersOf(devToken('--sub', 'bob', '--roles', 'admin')))).status).toBe(200);
  });

  it('opens the admin API with the ADMIN_TOKEN from .dev.vars', async () => {
    const adminToken = /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(`${ROOT}/.dev.vars`, 'utf8'))![1]!.trim();
    expect((await rawRequest(`http://127.0.0.1:${port}`, '/gateway/api-keys')).status).toBe(401);
    expect((await rawRequest(`http://127.0.0.1:${port}`, '/gateway/api-keys', { headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(200);
  });

  it('balances samples over its two instances by weight (2:1)', async () => {
    const instances: string[] = [];
    for (let i = 0; i < 6; i++) instances.push((await rawRequest(`http://127.0.0.1:${port}`, '/samples/x')).json<Echo>().instance);
    expect(instances.filter((id) => id === 'samples-1')).toHaveLength(4);
    expect(instances.filter((id) => id === 'samples-2')).toHaveLength(2);
  });
});

describe('npm start with an invalid configuration', () => {
  it('exits with status 1 and names each bad field', () => {
    const result = spawnSync(process.execPath, ['scripts/start.ts', '--config', 'test/e2e/fixtures/invalid.config.json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('services[0].routes[0].pathPrefix: expected a normalised path without a trailing slash, such as "/samples"');
    expect(result.stderr).toContain('services[0].instances[0].url: expected http or https, got "ftp"');
    expect(result.stderr).toContain('services[0].instances[0].weight: Too small: expected number to be >=1');
  });
});
