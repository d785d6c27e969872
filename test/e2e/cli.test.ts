import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFields, renderTable } from '../../scripts/cli/output.ts';
import { E2E_ADMIN_TOKEN, ROOT, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

// The operator CLI as a new user and a script meet it: help that reads as help, bare nouns that list, tables by
// default, the raw answer with --json, and exit codes a script can branch on (docs/cli.md).
let gateway: RunningGateway;
let origin: TestOrigin;

beforeAll(async () => {
  origin = await startOrigin(answer('samples'));
  gateway = await startGateway({ services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: origin.url }] }] });
});

afterAll(async () => {
  await gateway?.stop();
  await origin?.close();
});

function cli(args: string[], { token = E2E_ADMIN_TOKEN, url = gateway.url } = {}): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts/gateway-cli.ts'), ...args, '--url', url, '--token', token], { encoding: 'utf8', cwd: ROOT });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run gateway', () => {
  it('--help starts with usage and lists every command, not a doc comment', () => {
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run gateway -- <command>/);
    expect(help.stdout).not.toContain('@module');
    for (const command of ['services list', 'services register', 'routes add', 'breakers reset', 'config apply', 'status', 'audit']) expect(help.stdout).toContain(`  ${command}`);
    expect(help.stdout).toMatch(/Exit codes: 0 ok/);
  });

  it('lists services for the bare noun `services`, as a table', () => {
    const result = cli(['services']);
    expect(result.status, result.stderr).toBe(0);
    const [header, row] = result.stdout.split('\n');
    expect(header).toMatch(/^SERVICE +STRATEGY +INSTANCE +URL +WEIGHT +SOURCE$/);
    expect(row).toMatch(new RegExp(`^samples +\\S+ +samples-1 +${origin.url} +1 +file$`));
    expect(cli(['services']).stdout).toBe(cli(['services', 'list']).stdout);
  });

  it('lists routes for the bare noun `routes`', () => {
    const result = cli(['routes']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ID +PATH PREFIX +SERVICE +METHODS +HOSTS +SOURCE$/m);
    expect(result.stdout).toMatch(/ \/samples +samples +any +any +file$/m);
  });

  it('prints status as aligned fields by default and the raw answer with --json', () => {
    const human = cli(['status']);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^configuration version +\d+$/m);
    expect(human.stdout).toMatch(/^state plane +reachable \(\d+ ms\)$/m);
    expect(human.stdout.trimStart().startsWith('{')).toBe(false);
    const raw = cli(['status', '--json']);
    expect(raw.status).toBe(0);
    expect(JSON.parse(raw.stdout)).toMatchObject({ counts: { services: 1, routes: 1, instances: 1 }, statePlane: { reachable: true } });
  });

  it('--json on a list is the admin API answer itself', () => {
    const raw = JSON.parse(cli(['services', '--json']).stdout) as { services: { name: string; instances: { id: string }[] }[] };
    expect(raw.services[0]).toMatchObject({ name: 'samples', instances: [{ id: 'samples-1' }] });
  });

  describe('exit codes', () => {
    it('2 for an unknown command, an unknown verb, a missing argument or an unknown option, with nothing sent', () => {
      expect(cli(['nonsense']).status).toBe(2);
      expect(cli(['services', 'frob']).status).toBe(2);
      const missing = cli(['services', 'register', 'samples']);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain('usage: npm run gateway -- services register <service> <url>');
      expect(cli(['services', '--bogus']).status).toBe(2);
    });

    it('3 when the gateway cannot be reached', () => {
      const result = cli(['services'], { url: 'http://127.0.0.1:9' });
      expect(result.status).toBe(3);
      expect(result.stderr).toContain('cannot reach http://127.0.0.1:9');
    });

    it('3 when the URL answers with something that is not the admin API', async () => {
      const page = await startOrigin((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/html', connection: 'close' });
        res.end('<html>parked domain</html>');
      });
      try {
        // spawnSync would block the event loop this page is served from: run the CLI asynchronously here.
        const child = spawn(process.execPath, [join(ROOT, 'scripts/gateway-cli.ts'), 'services', '--url', page.url, '--token', E2E_ADMIN_TOKEN], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const [code] = (await once(child, 'exit')) as [number];
        expect(code, stderr).toBe(3);
        expect(stderr).toContain('not the admin API');
      } finally {
        await page.close();
      }
    });

    it('4 with a wrong admin token', () => {
      const result = cli(['services'], { token: 'wrong-token-wrong-token-wrong-token' });
      expect(result.status).toBe(4);
      expect(result.stderr).toMatch(/^40[13] /);
    });

    it('5 when the named thing does not exist', () => {
      const result = cli(['routes', 'remove', 'no-such-route']);
      expect(result.status, result.stderr).toBe(5);
    });

    it('1 when the gateway rejects the request', () => {
      const result = cli(['services', 'register', 'samples', 'ftp://example.com']);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^4\d\d /);
    });
  });
});

describe('output helpers', () => {
  it('renders a table with upper-case headers, padded columns and - for missing cells', () => {
    expect(renderTable(['service', 'state'], [['samples', 'closed'], ['rag', null]])).toBe('SERVICE  STATE\nsamples  closed\nrag      -');
    expect(renderTable(['a'], [], '(no services)')).toBe('(no services)');
  });

  it('renders aligned fields', () => {
    expect(renderFields([['version', '1.0'], ['state plane', 'reachable']])).toBe('version      1.0\nstate plane  reachable');
  });
});
