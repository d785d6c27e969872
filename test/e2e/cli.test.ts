import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFields, renderTable } from '../../scripts/cli/output.ts';
import { E2E_ADMIN_HEADERS, E2E_ADMIN_TOKEN, ROOT, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

// The operator CLI as a new user and a script meet it: help that reads as help, bare nouns that list, tables by
// default, the raw answer with --json, and exit codes a script can branch on (docs/cli.md).
let gateway: RunningGateway;
let origin: TestOrigin;
let hook: TestOrigin;
const hookCalls: string[] = [];
const files = mkdtempSync(join(tmpdir(), 'gateway-cli-'));

beforeAll(async () => {
  origin = await startOrigin((req, res) => {
    req.resume();
    // /samples/fail answers 500, so the metrics command has errors to count.
    const failing = req.url?.includes('/fail') ?? false;
    res.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' }).end(failing ? 'failed' : 'samples');
  });
  hook = await startOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      hookCalls.push(Buffer.concat(chunks).toString());
      res.writeHead(200).end();
    });
  });
  gateway = await startGateway({
    gateway: { controlPlane: { allowPrivateOriginAddresses: true }, statePlane: { syncIntervalMs: 200 }, alerting: { defaultRules: false, retryBaseDelaySeconds: 0, evaluationIntervalSeconds: 10 } },
    services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: origin.url }], retries: { attempts: 0 } }],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await origin?.close();
  await hook?.close();
});

/** Polls `probe` until it returns a value (bounded), for what the gateway does asynchronously (sync, queue). */
async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

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
    const commands = ['services list', 'services register', 'routes add', 'breakers reset', 'config apply', 'status', 'audit', 'health services', 'health check', 'health history'];
    commands.push('alerts list', 'alerts show', 'alerts ack', 'alerts resolve', 'alerts rules', 'alerts rule-put', 'alerts rule-remove', 'alerts channels', 'alerts channel-put');
    commands.push('alerts channel-remove', 'alerts stats', 'alerts test', 'metrics');
    for (const command of commands) expect(help.stdout).toContain(`  ${command}`);
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
      // Malformed values are caught before anything is sent (a non-number weight went out as null), and an
      // unwritable --out is reported, not thrown with a stack trace.
      for (const args of [
        ['services', 'register', 'samples', 'http://127.0.0.1:9/x', '--weight', 'abc'],
        ['services', 'register', 'samples', 'http://127.0.0.1:9/x', '--weight', '1e309'],
        ['services', 'register', 'samples', 'http://127.0.0.1:9/x', '--meta', 'zone'],
      ]) {
        const result = cli(args);
        expect(result.status, args.join(' ')).toBe(2);
        expect(result.stderr).toMatch(/^--(weight|meta) must be/);
      }
      const unwritable = cli(['config', 'export', '--out', join(files, 'no-such-dir', 'config.json')]);
      expect(unwritable.status).toBe(2);
      expect(unwritable.stderr).toMatch(/^cannot write .*no-such-dir/);
      expect(unwritable.stderr).not.toContain('    at ');
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

/**
 * The CLI run without blocking this process: the gateway probes and notifies origins served from this event loop,
 * which spawnSync would freeze (a probe would then time out).
 */
async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/gateway-cli.ts'), ...args, '--url', gateway.url, '--token', E2E_ADMIN_TOKEN], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { status: code, stdout, stderr };
}

describe('npm run gateway -- health', () => {
  it('health check probes now and shows one row per instance', async () => {
    const result = await run(['health', 'check', 'samples']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^SERVICE +SERVICE STATUS +INSTANCE +RESULT +HTTP +LATENCY +ERROR$/m);
    expect(result.stdout).toMatch(/^samples +healthy +samples-1 +pass +200 +\d+ ms +-$/m);
    expect((await run(['health', 'check', 'no-such-service'])).status).toBe(5);
  });

  it('health services shows each instance with the last check', async () => {
    const result = await run(['health', 'services']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^SERVICE +SERVICE STATUS +INSTANCE +STATUS +LATENCY +FAILURES +LAST CHECK +FIGURES +URL$/m);
    expect(result.stdout).toMatch(new RegExp(`^samples +healthy +samples-1 +healthy +\\d+ ms +0 +\\d{4}-\\d\\d-\\d\\dT\\S+Z +- +${origin.url}$`, 'm'));
    const raw = JSON.parse((await run(['health', 'services', '--json'])).stdout) as { services: { name: string; instances: { id: string; status: string }[] }[] };
    expect(raw.services).toEqual([expect.objectContaining({ name: 'samples', instances: [expect.objectContaining({ id: 'samples-1', status: 'healthy' })] })]);
  });

  it('health history lists the probes, filtered by --service and --limit', async () => {
    const result = await run(['health', 'history', '--service', 'samples']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^AT +SERVICE +INSTANCE +EVENT +HTTP +LATENCY +DETAIL$/m);
    expect(result.stdout).toMatch(/^\S+Z +samples +samples-1 +pass +200 +\d+ ms +-$/m);
    expect(result.stdout).toMatch(/^\S+Z +samples +samples-1 +unknown → healthy +- +- +1 passing check in a row$/m);
    expect((await run(['health', 'history', '--limit', '1'])).stdout.trim().split('\n')).toHaveLength(2);
    expect((await run(['health', 'history', '--service', 'nope'])).status).toBe(5);
    expect((await run(['health'])).status).toBe(2);
  });
});

describe('npm run gateway -- metrics', () => {
  it('summarises each service from /metrics/json: requests, req/s, error rate, p95, breaker', async () => {
    for (let i = 0; i < 8; i += 1) expect((await fetch(`${gateway.url}/samples/ok`)).status).toBe(200);
    for (let i = 0; i < 2; i += 1) expect((await fetch(`${gateway.url}/samples/fail`)).status).toBe(500);
    type Answer = { services: { breaker: string; totals: { requests: number; errors: number } }[] };
    // The figures are the global per-minute sums, which arrive with the isolate's next sync.
    const raw = await eventually(async () => {
      const answer = (await (await fetch(`${gateway.url}/metrics/json`, { headers: E2E_ADMIN_HEADERS })).json()) as Answer;
      return answer.services[0]!.totals.requests >= 10 ? answer : undefined;
    }, 'the traffic in /metrics/json');
    const { totals, breaker } = raw.services[0]!;
    expect(totals.errors).toBeGreaterThanOrEqual(2);
    const result = await run(['metrics']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^SERVICE +REQUESTS +REQ\/S +ERROR RATE +RATE LIMITED +WORST P95 +BREAKER +INSTANCES$/m);
    const row = result.stdout.split('\n').find((line) => line.startsWith('samples '))!.split(/ {2,}/);
    expect(row[1]).toBe(String(totals.requests));
    expect(row[2]).toBe((totals.requests / 3600).toFixed(2));
    expect(row[3]).toBe(`${((totals.errors / totals.requests) * 100).toFixed(1)}%`);
    expect(row[4]).toBe('0');
    expect(row[5]).toMatch(/^\d+ ms$/);
    expect(row[6]).toBe(breaker);
    expect(row[7]).toBe('1');
    expect(result.stdout).toMatch(/last 60 min, source live\n$/);
    expect((await run(['metrics', '--range', '2h'])).stdout).toMatch(/last 120 min/);
    const bad = await run(['metrics', '--range', 'forever']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^  - range: expected 1 to/m);
    expect(JSON.parse((await run(['metrics', '--json'])).stdout)).toMatchObject({ source: 'live', services: [{ service: 'samples' }] });
  });
});

describe('npm run gateway -- alerts', () => {
  it('channel-put, channels and test send a test alert through a real webhook; show lists the delivery', async () => {
    const file = join(files, 'channel.json');
    writeFileSync(file, JSON.stringify({ name: 'cli-hook', type: 'webhook', url: `${hook.url}/alerts` }));
    expect((await run(['alerts', 'channel-put', file])).stdout.trim()).toBe('saved channel cli-hook');
    expect((await run(['alerts', 'channels'])).stdout).toMatch(new RegExp(`^cli-hook +webhook +${hook.url}/alerts +any +api$`, 'm'));

    const sent = await run(['alerts', 'test', 'cli-hook', '--severity', 'low', '--json']);
    expect(sent.status, sent.stderr).toBe(0);
    const { alert } = JSON.parse(sent.stdout) as { alert: { id: string } };
    expect((await run(['alerts', 'test', 'no-such-channel'])).status).toBe(5);
    // The queue delivers to the webhook; `show` lists the attempt once the consumer has recorded it.
    await eventually(() => (hookCalls.some((body) => body.includes(alert.id)) ? true : undefined), 'the webhook delivery');
    const shown = await eventually(async () => {
      const result = await run(['alerts', 'show', alert.id]);
      return / cli-hook +test +1 +yes +200 /.test(result.stdout) ? result.stdout : undefined;
    }, 'the delivery in alerts show');
    expect(shown).toMatch(new RegExp(`^id +${alert.id}$`, 'm'));
    expect(shown).toMatch(/^rule +test-alert$/m);
    expect((await run(['alerts', 'show', '00000000-0000-4000-8000-000000000000'])).status).toBe(5);
  });

  it('rule-put, rules and rule-remove manage a rule from a file; a bad rule exits 1 with the field named', async () => {
    const file = join(files, 'rule.json');
    writeFileSync(file, JSON.stringify({ name: 'cli-spare', metric: 'latency_p95_ms', threshold: 5000, service: 'samples', severity: 'low', windowSeconds: 60 }));
    const put = await run(['alerts', 'rule-put', file]);
    expect(put.status, put.stderr).toBe(0);
    expect(put.stdout.trim()).toBe('saved rule cli-spare');
    const rules = await run(['alerts', 'rules']);
    expect(rules.stdout).toMatch(/^NAME +CONDITION +WINDOW +SEVERITY +SERVICE +CHANNELS +ENABLED +SOURCE$/m);
    expect(rules.stdout).toMatch(/^cli-spare +latency_p95_ms > 5000 +60 s +low +samples +- +yes +api$/m);
    writeFileSync(file, JSON.stringify({ name: 'cli-bad', metric: 'cpu_load', threshold: 1 }));
    const bad = await run(['alerts', 'rule-put', file]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^  - metric: expected one of error_rate/m);
    expect((await run(['alerts', 'rule-remove', 'cli-spare'])).status).toBe(0);
    expect((await run(['alerts', 'rules'])).stdout).not.toContain('cli-spare');
    expect((await run(['alerts', 'rule-remove', 'cli-spare'])).status).toBe(5);
    expect((await run(['alerts', 'rule-put', join(files, 'missing.json')])).status).toBe(2);
  });

  it('list, show, ack, resolve and stats follow an alert fired by a rule on real traffic', async () => {
    const file = join(files, 'errors.json');
    writeFileSync(file, JSON.stringify({ name: 'cli-errors', metric: 'error_rate', threshold: 0.1, minRequests: 5, windowSeconds: 60, service: 'samples', severity: 'medium', channels: ['cli-hook'] }));
    expect((await run(['alerts', 'rule-put', file])).status).toBe(0);
    // The metrics test left 2 failures in 10 requests (20 %): the next evaluation fires.
    const id = await eventually(
      async () => {
        const answer = JSON.parse((await run(['alerts', 'list', '--status', 'active', '--json'])).stdout) as { alerts: { id: string; rule: string }[] };
        return answer.alerts.find((alert) => alert.rule === 'cli-errors')?.id;
      },
      'the error-rate alert',
      40_000,
    );
    const list = await run(['alerts']);
    expect(list.stdout).toMatch(/^ID +FIRED +SEVERITY +STATUS +RULE +SERVICE +MESSAGE$/m);
    expect(list.stdout).toMatch(new RegExp(`^${id} +\\S+Z +medium +active +cli-errors +samples +\\S`, 'm'));
    const shown = await run(['alerts', 'show', id]);
    expect(shown.stdout).toMatch(/^value \/ threshold +0\.\d+ \/ 0\.1$/m);

    expect((await run(['alerts', 'ack', id])).stdout.trim()).toBe(`${id} is acknowledged`);
    const again = await run(['alerts', 'ack', id]);
    expect(again.status).toBe(1); // 409: already acknowledged
    expect(again.stderr).toMatch(/^409 /);
    expect((await run(['alerts', 'resolve', id])).stdout.trim()).toBe(`${id} is resolved`);
    expect((await run(['alerts', 'list', '--status', 'resolved'])).stdout).toContain(id);
    expect((await run(['alerts', 'show', id])).stdout).toMatch(/^acknowledged +\S+Z by admin-token/m);

    const stats = await run(['alerts', 'stats']);
    expect(stats.status, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/^alerts +1$/m);
    expect(stats.stdout).toMatch(/^by rule +cli-errors 1$/m);
    expect(stats.stdout).toMatch(/^mean time to acknowledge +\d+\.\d s$/m);
    expect(stats.stdout).toMatch(/^deliveries ok \/ failed \/ dead-lettered +[1-9]\d* \/ \d+ \/ \d+$/m);
    expect((await run(['alerts', 'rule-remove', 'cli-errors'])).status).toBe(0);
    expect((await run(['alerts', 'channel-remove', 'cli-hook'])).status).toBe(0);
    expect((await run(['alerts', 'channel-remove', 'cli-hook'])).status).toBe(5);
  }, 60_000);
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
