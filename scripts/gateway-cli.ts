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
 *   health services                                 every instance's health (status, latency, figures)
 *   health check [service]                          probe now and show the results
 *   health history [--service S] [--instance I] [--limit N]
 *   alerts list [--status S] [--severity S] [--service S] | alerts show <id>
 *   alerts ack <id> | alerts resolve <id>
 *   alerts rules | alerts rule-put <rule.json> | alerts rule-remove <name>
 *   alerts channels | alerts channel-put <channel.json> | alerts channel-remove <name>
 *   alerts stats | alerts test <channel>[,<channel>...] [--severity info]
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
    status: { type: 'string' },
    severity: { type: 'string' },
    service: { type: 'string' },
    instance: { type: 'string' },
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
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((line) => line.startsWith(' *')).slice(0, 24).map((line) => line.slice(3)).join('\n'));
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
    case 'health services': {
      const answer = (await call('GET', '/health/services')) as { services: { name: string; status: string; instances: { id: string; url: string; status: string; latencyMs: number | null; consecutiveFailures: number; figures: Record<string, number> }[] }[] };
      return print(answer, () =>
        answer.services
          .flatMap((s) => [
            `${s.name}  ${s.status}`,
            ...s.instances.map((i) => `  ${i.id}  ${i.status}  ${i.latencyMs === null ? '-' : `${i.latencyMs} ms`}  failures ${i.consecutiveFailures}  ${Object.entries(i.figures).map(([k, v]) => `${k}=${v}`).join(' ')}  ${i.url}`),
          ])
          .join('\n'),
      );
    }
    case 'health check': {
      const [service] = args;
      const answer = (await call('POST', '/health/check', service ? { service } : {})) as { services: { name: string; status: string; results: { instance: string; ok: boolean; status: number | null; latencyMs: number; error: string | null }[] }[] };
      return print(answer, () =>
        answer.services
          .flatMap((s) => [`${s.name}  ${s.status}`, ...s.results.map((r) => `  ${r.instance}  ${r.ok ? 'pass' : 'FAIL'}  ${r.status ?? '-'}  ${r.latencyMs} ms${r.error ? `  (${r.error})` : ''}`)])
          .join('\n'),
      );
    }
    case 'health history': {
      const query = new URLSearchParams();
      if (options.service) query.set('service', options.service);
      if (options.instance) query.set('instance', options.instance);
      if (options.limit) query.set('limit', options.limit);
      const answer = (await call('GET', `/health/history?${query}`)) as { entries: { at: number; service: string; instance: string; kind: string; ok: boolean | null; status: number | null; error: string | null; from: string | null; to: string | null; reason: string | null }[] };
      return print(answer, () =>
        answer.entries
          .map((e) => `${new Date(e.at).toISOString()}  ${e.service}/${e.instance}  ${e.kind === 'probe' ? `${e.ok ? 'pass' : 'FAIL'} ${e.status ?? '-'}${e.error ? ` (${e.error})` : ''}` : `${e.from} → ${e.to}: ${e.reason}`}`)
          .join('\n'),
      );
    }
    case 'alerts list': {
      const query = new URLSearchParams();
      for (const key of ['status', 'severity', 'service', 'limit'] as const) if (options[key]) query.set(key, options[key]!);
      const answer = (await call('GET', `/alerts/alerts?${query}`)) as { alerts: { id: string; rule: string; service: string; severity: string; status: string; message: string; firedAt: number }[] };
      return print(answer, () => answer.alerts.map((a) => `${a.id}  ${new Date(a.firedAt).toISOString()}  ${a.severity.padEnd(8)} ${a.status.padEnd(12)} ${a.rule}  ${a.message}`).join('\n') || 'no alerts');
    }
    case 'alerts show': {
      const [id] = args;
      if (!id) throw new CliError('usage: alerts show <id>');
      const answer = await call('GET', `/alerts/alerts/${encodeURIComponent(id)}`);
      return print(answer, () => JSON.stringify(answer, null, 2));
    }
    case 'alerts ack':
    case 'alerts resolve': {
      const [id] = args;
      if (!id) throw new CliError(`usage: alerts ${command} <id>`);
      const answer = (await call('POST', `/alerts/alerts/${encodeURIComponent(id)}/${command === 'ack' ? 'acknowledge' : 'resolve'}`)) as { id: string; status: string };
      return print(answer, () => `${answer.id} is ${answer.status}`);
    }
    case 'alerts rules': {
      const answer = (await call('GET', '/alerts/alert-rules')) as { rules: { name: string; metric: string; comparator: string; threshold: number; severity: string; channels: string[]; service?: string; enabled: boolean; source: string }[] };
      return print(answer, () =>
        answer.rules.map((r) => `${r.name}  ${r.metric} ${r.comparator} ${r.threshold}  ${r.severity}  ${r.service ?? 'every service'}  → ${r.channels.join(',') || '(no channel)'}${r.enabled ? '' : '  (disabled)'}  [${r.source}]`).join('\n'),
      );
    }
    case 'alerts rule-put': {
      const [file] = args;
      if (!file) throw new CliError('usage: alerts rule-put <rule.json>');
      const rule = JSON.parse(readFileSync(file, 'utf8')) as { name: string };
      const answer = await call('PUT', `/alerts/alert-rules/${encodeURIComponent(rule.name)}`, rule);
      return print(answer, () => `saved rule ${rule.name}`);
    }
    case 'alerts rule-remove':
    case 'alerts channel-remove': {
      const [name] = args;
      if (!name) throw new CliError(`usage: alerts ${command} <name>`);
      await call('DELETE', `/alerts/${command === 'rule-remove' ? 'alert-rules' : 'notification-channels'}/${encodeURIComponent(name)}`);
      return print({ deleted: name }, () => `deleted ${name}`);
    }
    case 'alerts channels': {
      const answer = (await call('GET', '/alerts/notification-channels')) as { channels: { name: string; type: string; url?: string; apiUrl?: string; minSeverity?: string; source: string }[] };
      return print(answer, () => answer.channels.map((ch) => `${ch.name}  ${ch.type}  ${ch.url ?? ch.apiUrl ?? ''}${ch.minSeverity ? `  ≥ ${ch.minSeverity}` : ''}  [${ch.source}]`).join('\n') || 'no channels');
    }
    case 'alerts channel-put': {
      const [file] = args;
      if (!file) throw new CliError('usage: alerts channel-put <channel.json>');
      const answer = (await call('POST', '/alerts/notification-channels', JSON.parse(readFileSync(file, 'utf8')))) as { name: string };
      return print(answer, () => `saved channel ${answer.name}`);
    }
    case 'alerts stats': {
      const answer = await call('GET', '/alerts/statistics');
      return print(answer, () => JSON.stringify(answer, null, 2));
    }
    case 'alerts test': {
      const [channels] = args;
      if (!channels) throw new CliError('usage: alerts test <channel>[,<channel>...] [--severity info]');
      const answer = (await call('POST', '/alerts/test-alert', { severity: options.severity ?? 'info', channels: channels.split(',') })) as { alert: { id: string }; enqueued: string[] };
      return print(answer, () => `test alert ${answer.alert.id} queued for ${answer.enqueued.join(', ')} (see: alerts show ${answer.alert.id})`);
    }
    default:
      throw new CliError(`unknown command "${positionals.join(' ')}"; try --help`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof CliError ? error.message : error instanceof Error && 'cause' in error ? `cannot reach ${options.url}: ${String((error as Error).cause ?? error)}` : String(error));
  process.exit(1);
});
