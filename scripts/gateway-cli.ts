/**
 * @module `npm run gateway -- <command>`: the admin API from the command line, so operators need not hand-write curl.
 *
 *   services list                                   services and instances
 *   services register <service> <url> [--weight N] [--id ID] [--meta key=value ...]
 *   services deregister <service> <instanceId>
 *   routes list
 *   routes add <service> <pathPrefix> [--id ID] [--strip] [--rewrite /prefix] [--methods GET,POST] [--hosts a.example.com]
 *   routes remove <id>
 *   breakers list | breakers reset <service>
 *   config export [--out file.json] | config apply <file.json> [--dry-run]
 *   status | audit [--limit N]
 *
 * Options: --url (default $GATEWAY_URL or http://127.0.0.1:8787), --token (default $ADMIN_TOKEN, else ADMIN_TOKEN
 * from .dev.vars), --json (print the raw answer).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8787' },
    token: { type: 'string', default: process.env.ADMIN_TOKEN },
    json: { type: 'boolean', default: false },
    weight: { type: 'string' },
    id: { type: 'string' },
    meta: { type: 'string', multiple: true },
    strip: { type: 'boolean', default: false },
    rewrite: { type: 'string' },
    methods: { type: 'string' },
    hosts: { type: 'string' },
    out: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    limit: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function adminToken(): string | undefined {
  if (options.token) return options.token;
  const devVars = new URL('../.dev.vars', import.meta.url);
  if (!existsSync(devVars)) return undefined;
  return /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, 'utf8'))?.[1]?.trim();
}

class CliError extends Error {}

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const token = adminToken();
  const response = await fetch(new URL(path, options.url), {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const answer = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const problem = answer as { title?: string; detail?: string; errors?: { path: string; message: string }[] } | null;
    const lines = [`${response.status} ${problem?.title ?? response.statusText}: ${problem?.detail ?? text}`];
    for (const error of problem?.errors ?? []) lines.push(`  - ${error.path || '(body)'}: ${error.message}`);
    throw new CliError(lines.join('\n'));
  }
  return answer;
}

function print(answer: unknown, human: () => string): void {
  console.log(options.json ? JSON.stringify(answer, null, 2) : human());
}

type Instance = { id: string; url: string; weight: number; source: string; metadata: Record<string, string> };

async function main(): Promise<void> {
  const [group, command, ...args] = positionals;
  if (options.help || !group) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((line) => line.startsWith(' *')).slice(0, 16).map((line) => line.slice(3)).join('\n'));
    return;
  }
  switch (`${group} ${command ?? ''}`.trim()) {
    case 'services list': {
      const answer = (await call('GET', '/gateway/services')) as { version: number; services: { name: string; strategy: string; instances: Instance[] }[] };
      return print(answer, () =>
        [`configuration version ${answer.version}`, ...answer.services.flatMap((s) => [`${s.name} (${s.strategy})`, ...s.instances.map((i) => `  ${i.id}  ${i.url}  weight ${i.weight}  [${i.source}]`)])].join('\n'),
      );
    }
    case 'services register': {
      const [service, url] = args;
      if (!service || !url) throw new CliError('usage: services register <service> <url> [--weight N] [--id ID] [--meta key=value ...]');
      const metadata = Object.fromEntries((options.meta ?? []).map((entry) => entry.split(/=(.*)/s).slice(0, 2)));
      const body = { service, url, ...(options.weight ? { weight: Number(options.weight) } : {}), ...(options.id ? { id: options.id } : {}), metadata };
      const instance = (await call('POST', '/gateway/services/register', body)) as Instance;
      return print(instance, () => `registered ${instance.id} (${instance.url}) in ${service}`);
    }
    case 'services deregister': {
      const [service, instanceId] = args;
      if (!service || !instanceId) throw new CliError('usage: services deregister <service> <instanceId>');
      const instance = (await call('DELETE', `/gateway/services/${encodeURIComponent(service)}/${encodeURIComponent(instanceId)}`)) as Instance;
      return print(instance, () => `deregistered ${instance.id} (${instance.url}) from ${service}`);
    }
    case 'routes list': {
      const answer = (await call('GET', '/gateway/routes')) as { routes: { id: string; service: string; pathPrefix: string; methods?: string[]; source: string }[] };
      return print(answer, () => answer.routes.map((r) => `${r.id}  ${r.pathPrefix} → ${r.service}${r.methods ? `  ${r.methods.join(',')}` : ''}  [${r.source}]`).join('\n'));
    }
    case 'routes add': {
      const [service, pathPrefix] = args;
      if (!service || !pathPrefix) throw new CliError('usage: routes add <service> <pathPrefix> [--id ID] [--strip] [--rewrite /prefix] [--methods GET,POST] [--hosts h1,h2]');
      const body = {
        service,
        pathPrefix,
        ...(options.id ? { id: options.id } : {}),
        ...(options.strip ? { stripPrefix: true } : {}),
        ...(options.rewrite ? { rewritePrefix: options.rewrite } : {}),
        ...(options.methods ? { methods: options.methods.split(',') } : {}),
        ...(options.hosts ? { hosts: options.hosts.split(',') } : {}),
      };
      const route = (await call('POST', '/gateway/routes', body)) as { id: string };
      return print(route, () => `added route ${route.id}: ${pathPrefix} → ${service}`);
    }
    case 'routes remove': {
      const [id] = args;
      if (!id) throw new CliError('usage: routes remove <id>');
      const route = await call('DELETE', `/gateway/routes/${encodeURIComponent(id)}`);
      return print(route, () => `removed route ${id}`);
    }
    case 'breakers list': {
      const answer = (await call('GET', '/gateway/circuit-breakers')) as { services: { service: string; breaker: { state: string; failureRate: number; calls: number } | null }[] };
      return print(answer, () =>
        answer.services.map((s) => `${s.service}  ${s.breaker ? `${s.breaker.state}  ${Math.round(s.breaker.failureRate * 100)}% of ${s.breaker.calls} calls failed` : 'no breaker'}`).join('\n'),
      );
    }
    case 'breakers reset': {
      const [service] = args;
      if (!service) throw new CliError('usage: breakers reset <service>');
      const answer = await call('POST', `/gateway/circuit-breakers/${encodeURIComponent(service)}/reset`);
      return print(answer, () => `reset the breaker of ${service}`);
    }
    case 'config export': {
      const config = await call('GET', '/gateway/config');
      const text = `${JSON.stringify(config, null, 2)}\n`;
      if (options.out) {
        writeFileSync(options.out, text);
        return print({ written: options.out }, () => `wrote ${options.out}`);
      }
      process.stdout.write(text);
      return;
    }
    case 'config apply': {
      const [file] = args;
      if (!file) throw new CliError('usage: config apply <file.json> [--dry-run]');
      const desired = JSON.parse(readFileSync(file, 'utf8'));
      const answer = (await call('PUT', `/gateway/config${options['dry-run'] ? '?dry_run=1' : ''}`, desired)) as { dryRun: boolean; version: number; changes: { op: string; path: string }[] };
      return print(answer, () =>
        [
          answer.changes.length === 0 ? 'no changes' : answer.changes.map((change) => `${change.op.padEnd(6)} ${change.path}`).join('\n'),
          answer.dryRun ? '(dry run: nothing applied)' : `applied: configuration version ${answer.version}`,
        ].join('\n'),
      );
    }
    case 'status': {
      const answer = (await call('GET', '/gateway/status')) as Record<string, unknown>;
      return print(answer, () => JSON.stringify(answer, null, 2));
    }
    case 'audit': {
      const answer = (await call('GET', `/gateway/audit${options.limit ? `?limit=${options.limit}` : ''}`)) as { entries: { at: string; actor: string; action: string; target: string }[] };
      return print(answer, () => answer.entries.map((e) => `${e.at}  ${e.actor}  ${e.action}  ${e.target}`).join('\n'));
    }
    default:
      throw new CliError(`unknown command "${positionals.join(' ')}"; try --help`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof CliError ? error.message : error instanceof Error && 'cause' in error ? `cannot reach ${options.url}: ${String((error as Error).cause ?? error)}` : String(error));
  process.exit(1);
});
