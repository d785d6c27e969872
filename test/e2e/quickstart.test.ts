import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
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

  it('runs all seven demo services behind the gateway', async () => {
    for (const service of ['auth', 'samples', 'storage', 'templates', 'sequencing', 'notifications', 'rag']) {
      const response = await rawRequest(`http://127.0.0.1:${port}`, `/${service}/ping`);
      expect(response.json<Echo>().service).toBe(service);
    }
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
