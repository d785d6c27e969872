/**
 * @module `npm run gateway -- <noun> [verb] [args]`: the admin API from the command line. The commands are the
 * COMMANDS table below; `--help` is generated from it. Tables for people, `--json` for scripts, exit codes in
 * scripts/cli/output.ts (EXIT) and docs/cli.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CliError, emit, EXIT, renderFields, renderTable, type CommandOutput } from './cli/output.ts';
import type { AlertStatistics } from '../src/alerting/lifecycle.ts';

const OPTIONS = {
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
  range: { type: 'string' },
  timeout: { type: 'string', default: '10000' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** One command: `<noun> <verb>`; `run` returns the raw answer and its human form. */
interface Command {
  /** Arguments after the noun and verb, as shown in --help. */
  args?: string;
  summary: string;
  run(args: string[], options: Options): Promise<CommandOutput>;
}

function adminToken(options: Options): string | undefined {
  if (options.token) return options.token;
  const devVars = new URL('../.dev.vars', import.meta.url);
  if (!existsSync(devVars)) return undefined;
  return /^ADMIN_TOKEN=(.*)$/m.exec(readFileSync(devVars, 'utf8'))?.[1]?.trim();
}

/** One admin API call; maps every way it can fail onto a CliError with the documented exit code. */
async function call(options: Options, method: string, path: string, body?: unknown): Promise<unknown> {
  const token = adminToken(options);
  let response: Response;
  let text: string;
  try {
    response = await fetch(new URL(path, options.url), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(Number(options.timeout)),
    });
    text = await response.text();
  } catch (error) {
    const cause = (error as Error).cause ?? error;
    throw new CliError(`cannot reach ${options.url}: ${String(cause)}`, EXIT.unreachable);
  }
  let answer: unknown = null;
  try {
    answer = text ? JSON.parse(text) : null;
  } catch {
    throw new CliError(`${options.url} answered ${response.status} with something that is not the admin API (not JSON)`, EXIT.unreachable);
  }
  if (!response.ok) {
    const problem = answer as { title?: string; detail?: string; errors?: { path: string; message: string }[] } | null;
    const lines = [`${response.status} ${problem?.title ?? response.statusText}: ${problem?.detail ?? text}`];
    for (const error of problem?.errors ?? []) lines.push(`  - ${error.path || '(body)'}: ${error.message}`);
    const code = response.status === 401 || response.status === 403 ? EXIT.unauthorised : response.status === 404 ? EXIT.notFound : EXIT.failed;
    throw new CliError(lines.join('\n'), code);
  }
  return answer;
}

function usage(noun: string, verb: string, command: Command): never {
  throw new CliError(`usage: npm run gateway -- ${noun} ${verb} ${command.args ?? ''}`.trimEnd(), EXIT.usage);
}

/** A JSON file named on the command line (a rule, a channel); unreadable or not JSON is bad usage. */
function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.usage);
  }
}

/** `?key=value` from the named options that were given. */
function queryOf(options: Options, keys: readonly ('status' | 'severity' | 'service' | 'instance' | 'limit' | 'range')[]): string {
  const query = new URLSearchParams();
  for (const key of keys) if (options[key]) query.set(key, options[key]!);
  return query.size ? `?${query}` : '';
}

const time = (epochMs: number | null | undefined) => (epochMs ? new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z') : null);
const percent = (ratio: number | null) => (ratio === null ? null : `${(ratio * 100).toFixed(1)}%`);

type Instance = { id: string; url: string; weight: number; source: string; metadata: Record<string, string> };
type Route = { id: string; service: string; pathPrefix: string; methods?: string[]; hosts?: string[]; source: string };

type InstanceHealth = { id: string; url: string; status: string; lastCheckAt: number | null; latencyMs: number | null; consecutiveFailures: number; figures: Record<string, number> };
type ProbeResult = { instance: string; ok: boolean; status: number | null; latencyMs: number; error: string | null };
type HistoryEntry = { at: number; service: string; instance: string; kind: 'probe' | 'transition'; ok: boolean | null; status: number | null; latencyMs: number | null; error: string | null; from: string | null; to: string | null; reason: string | null };
type Alert = { id: string; rule: string; service: string; severity: string; status: string; value: number; threshold: number; message: string; firedAt: number; acknowledgedAt?: number; acknowledgedBy?: string; resolvedAt?: number; resolvedBy?: string };
type Delivery = { at: number; channel: string; kind: string; attempt: number; ok: boolean; status: number | null; detail: string };
type Rule = { name: string; metric: string; comparator: string; threshold: number; windowSeconds: number; severity: string; channels: string[]; service?: string; enabled: boolean; source: string };
type Channel = { name: string; type: string; url?: string; apiUrl?: string; minSeverity?: string; source: string };
type MinutePoint = { at: number; requests: number; errors: number; p95Ms: number | null };
type ServiceMetrics = { service: string; breaker: string; instances: { id: string }[]; totals: { requests: number; errors: number; timedRequests: number; rateLimited: number }; series: MinutePoint[] };

/** A figure from an origin's health answer, shortened: `cpu=42 memory=61`. */
const figuresText = (figures: Record<string, number>) => Object.entries(figures).map(([key, value]) => `${key}=${value}`).join(' ') || null;

/**
 * Every command, by noun then verb. A bare noun runs its `list` (or its only verb).
 */
export const COMMANDS: Record<string, Record<string, Command>> = {
  services: {
    list: {
      summary: 'services and their instances',
      async run(_args, options) {
        const answer = (await call(options, 'GET', '/gateway/services')) as { version: number; services: { name: string; strategy: string; instances: Instance[] }[] };
        const rows = answer.services.flatMap((s) => s.instances.map((i) => [s.name, s.strategy, i.id, i.url, i.weight, i.source]));
        return { raw: answer, human: () => `${renderTable(['service', 'strategy', 'instance', 'url', 'weight', 'source'], rows)}\n\nconfiguration version ${answer.version}` };
      },
    },
    register: {
      args: '<service> <url> [--weight N] [--id ID] [--meta key=value ...]',
      summary: 'add an instance to a service in the registry',
      async run([service, url], options) {
        if (!service || !url) usage('services', 'register', this);
        // Caught here, with nothing sent: `Number('abc')` went out as `"weight": null`, and `--meta zone` (no "=")
        // was dropped without a word.
        if (options.weight !== undefined && !/^\d+$/.test(options.weight)) throw new CliError(`--weight must be a whole number, got "${options.weight}"`, EXIT.usage);
        const badMeta = (options.meta ?? []).find((entry) => !entry.includes('='));
        if (badMeta !== undefined) throw new CliError(`--meta must be key=value, got "${badMeta}"`, EXIT.usage);
        const metadata = Object.fromEntries((options.meta ?? []).map((entry) => entry.split(/=(.*)/s).slice(0, 2)));
        const body = { service, url, ...(options.weight ? { weight: Number(options.weight) } : {}), ...(options.id ? { id: options.id } : {}), metadata };
        const instance = (await call(options, 'POST', '/gateway/services/register', body)) as Instance;
        return { raw: instance, human: () => `registered ${instance.id} (${instance.url}) in ${service}` };
      },
    },
    deregister: {
      args: '<service> <instanceId>',
      summary: 'remove a registered instance',
      async run([service, instanceId], options) {
        if (!service || !instanceId) usage('services', 'deregister', this);
        const instance = (await call(options, 'DELETE', `/gateway/services/${encodeURIComponent(service)}/${encodeURIComponent(instanceId)}`)) as Instance;
        return { raw: instance, human: () => `deregistered ${instance.id} (${instance.url}) from ${service}` };
      },
    },
  },
  routes: {
    list: {
      summary: 'routes, from the configuration file and the registry',
      async run(_args, options) {
        const answer = (await call(options, 'GET', '/gateway/routes')) as { routes: Route[] };
        const rows = answer.routes.map((r) => [r.id, r.pathPrefix, r.service, r.methods?.join(',') ?? 'any', r.hosts?.join(',') ?? 'any', r.source]);
        return { raw: answer, human: () => renderTable(['id', 'path prefix', 'service', 'methods', 'hosts', 'source'], rows) };
      },
    },
    add: {
      args: '<service> <pathPrefix> [--id ID] [--strip] [--rewrite /prefix] [--methods GET,POST] [--hosts a.example.com]',
      summary: 'add a route in the registry',
      async run([service, pathPrefix], options) {
        if (!service || !pathPrefix) usage('routes', 'add', this);
        const body = {
          service,
          pathPrefix,
          ...(options.id ? { id: options.id } : {}),
          ...(options.strip ? { stripPrefix: true } : {}),
          ...(options.rewrite ? { rewritePrefix: options.rewrite } : {}),
          ...(options.methods ? { methods: options.methods.split(',') } : {}),
          ...(options.hosts ? { hosts: options.hosts.split(',') } : {}),
        };
        const route = (await call(options, 'POST', '/gateway/routes', body)) as { id: string };
        return { raw: route, human: () => `added route ${route.id}: ${pathPrefix} → ${service}` };
      },
    },
    remove: {
      args: '<id>',
      summary: 'remove a registry route',
      async run([id], options) {
        if (!id) usage('routes', 'remove', this);
        const route = await call(options, 'DELETE', `/gateway/routes/${encodeURIComponent(id)}`);
        return { raw: route, human: () => `removed route ${id}` };
      },
    },
  },
  breakers: {
    list: {
      summary: 'circuit breaker of every service',
      async run(_args, options) {
        const answer = (await call(options, 'GET', '/gateway/circuit-breakers')) as { services: { service: string; breaker: { state: string; failureRate: number; calls: number } | null }[] };
        const rows = answer.services.map((s) => (s.breaker ? [s.service, s.breaker.state, `${Math.round(s.breaker.failureRate * 100)}%`, s.breaker.calls] : [s.service, 'no breaker', null, null]));
        return { raw: answer, human: () => renderTable(['service', 'state', 'failed', 'calls'], rows) };
      },
    },
    reset: {
      args: '<service>',
      summary: 'close a service’s breaker (audited)',
      async run([service], options) {
        if (!service) usage('breakers', 'reset', this);
        const answer = await call(options, 'POST', `/gateway/circuit-breakers/${encodeURIComponent(service)}/reset`);
        return { raw: answer, human: () => `reset the breaker of ${service}` };
      },
    },
  },
  config: {
    export: {
      args: '[--out file.json]',
      summary: 'the merged configuration as JSON (to stdout, or to a file)',
      async run(_args, options) {
        const config = await call(options, 'GET', '/gateway/config');
        const text = JSON.stringify(config, null, 2);
        if (!options.out) return { raw: config, human: () => text };
        try {
          writeFileSync(options.out, `${text}\n`);
        } catch (error) {
          // An unwritable --out is the caller's mistake, not a crash with a stack trace (exit 1).
          throw new CliError(`cannot write ${options.out}: ${(error as Error).message}`, EXIT.usage);
        }
        return { raw: { written: options.out }, human: () => `wrote ${options.out}` };
      },
    },
    apply: {
      args: '<file.json> [--dry-run]',
      summary: 'make the registry match a configuration file; --dry-run shows the changes only',
      async run([file], options) {
        if (!file) usage('config', 'apply', this);
        let desired: unknown;
        try {
          desired = JSON.parse(readFileSync(file, 'utf8'));
        } catch (error) {
          throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.usage);
        }
        const answer = (await call(options, 'PUT', `/gateway/config${options['dry-run'] ? '?dry_run=1' : ''}`, desired)) as { dryRun: boolean; version: number; changes: { op: string; path: string }[] };
        return {
          raw: answer,
          human: () =>
            [
              answer.changes.length === 0 ? 'no changes' : renderTable(['change', 'path'], answer.changes.map((change) => [change.op, change.path])),
              answer.dryRun ? '(dry run: nothing applied)' : `applied: configuration version ${answer.version}`,
            ].join('\n'),
        };
      },
    },
  },
  status: {
    show: {
      summary: 'version, configuration version, uptime, counts, registry and state plane reachability',
      async run(_args, options) {
        type Status = {
          version: string;
          configVersion: number;
          uptimeSeconds: number;
          counts: { services: number; routes: number; instances: number };
          registry: { reachable: boolean; latencyMs: number | null; lastCheckedAt: string | null; lastError: string | null; skippedChanges: string[] };
          statePlane: { reachable: boolean; latencyMs: number | null };
        };
        const s = (await call(options, 'GET', '/gateway/status')) as Status;
        const reach = (r: { reachable: boolean; latencyMs: number | null }) => (r.reachable ? `reachable (${r.latencyMs} ms)` : 'UNREACHABLE');
        return {
          raw: s,
          human: () =>
            renderFields([
              ['gateway version', s.version],
              ['configuration version', s.configVersion],
              ['uptime', `${s.uptimeSeconds} s (this isolate)`],
              ['services / routes / instances', `${s.counts.services} / ${s.counts.routes} / ${s.counts.instances}`],
              ['registry', reach(s.registry)],
              ['registry last checked', s.registry.lastCheckedAt],
              ['registry last error', s.registry.lastError],
              ['skipped registry changes', s.registry.skippedChanges.length ? s.registry.skippedChanges.join('; ') : 'none'],
              ['state plane', reach(s.statePlane)],
            ]),
        };
      },
    },
  },
  health: {
    services: {
      summary: 'every instance’s health from the active checks (status, latency, failures, figures)',
      async run(_args, options) {
        const answer = (await call(options, 'GET', '/health/services')) as { services: { name: string; status: string; instances: InstanceHealth[] }[] };
        const rows = answer.services.flatMap((s) =>
          s.instances.map((i) => [s.name, s.status, i.id, i.status, i.latencyMs === null ? null : `${i.latencyMs} ms`, i.consecutiveFailures, time(i.lastCheckAt), figuresText(i.figures), i.url]),
        );
        return { raw: answer, human: () => renderTable(['service', 'service status', 'instance', 'status', 'latency', 'failures', 'last check', 'figures', 'url'], rows, '(no services)') };
      },
    },
    check: {
      args: '[service]',
      summary: 'probe now (every service, or the one named) and show the results',
      async run([service], options) {
        const answer = (await call(options, 'POST', '/health/check', service ? { service } : {})) as { services: { name: string; status: string; results: ProbeResult[] }[] };
        const rows = answer.services.flatMap((s) =>
          s.results.map((r) => [s.name, s.status, r.instance, r.ok ? 'pass' : 'FAIL', r.status, `${r.latencyMs} ms`, r.error]),
        );
        return { raw: answer, human: () => renderTable(['service', 'service status', 'instance', 'result', 'http', 'latency', 'error'], rows, '(no instances probed)') };
      },
    },
    history: {
      args: '[--service S] [--instance I] [--limit N]',
      summary: 'probe results and health transitions, newest first',
      async run(_args, options) {
        const answer = (await call(options, 'GET', `/health/history${queryOf(options, ['service', 'instance', 'limit'])}`)) as { entries: HistoryEntry[] };
        const rows = answer.entries.map((e) =>
          e.kind === 'probe'
            ? [time(e.at), e.service, e.instance, e.ok ? 'pass' : 'FAIL', e.status, e.latencyMs === null ? null : `${e.latencyMs} ms`, e.error]
            : [time(e.at), e.service, e.instance, `${e.from} → ${e.to}`, null, null, e.reason],
        );
        return { raw: answer, human: () => renderTable(['at', 'service', 'instance', 'event', 'http', 'latency', 'detail'], rows, '(no history)') };
      },
    },
  },
  alerts: {
    list: {
      args: '[--status active|acknowledged|resolved] [--severity S] [--service S] [--limit N]',
      summary: 'alerts, newest first',
      async run(_args, options) {
        const answer = (await call(options, 'GET', `/alerts/alerts${queryOf(options, ['status', 'severity', 'service', 'limit'])}`)) as { alerts: Alert[] };
        const rows = answer.alerts.map((a) => [a.id, time(a.firedAt), a.severity, a.status, a.rule, a.service, a.message]);
        return { raw: answer, human: () => renderTable(['id', 'fired', 'severity', 'status', 'rule', 'service', 'message'], rows, '(no alerts)') };
      },
    },
    show: {
      args: '<id>',
      summary: 'one alert with every delivery attempt',
      async run([id], options) {
        if (!id) usage('alerts', 'show', this);
        const a = (await call(options, 'GET', `/alerts/alerts/${encodeURIComponent(id)}`)) as Alert & { deliveries: Delivery[] };
        return {
          raw: a,
          human: () =>
            [
              renderFields([
                ['id', a.id],
                ['rule', a.rule],
                ['service', a.service],
                ['severity', a.severity],
                ['status', a.status],
                ['value / threshold', `${a.value} / ${a.threshold}`],
                ['message', a.message],
                ['fired', time(a.firedAt)],
                ['acknowledged', a.acknowledgedAt ? `${time(a.acknowledgedAt)} by ${a.acknowledgedBy}` : null],
                ['resolved', a.resolvedAt ? `${time(a.resolvedAt)} by ${a.resolvedBy}` : null],
              ]),
              '',
              renderTable(['at', 'channel', 'kind', 'attempt', 'ok', 'http', 'detail'], a.deliveries.map((d) => [time(d.at), d.channel, d.kind, d.attempt, d.ok ? 'yes' : 'NO', d.status, d.detail]), '(no deliveries yet)'),
            ].join('\n'),
        };
      },
    },
    ack: {
      args: '<id>',
      summary: 'acknowledge an active alert',
      async run([id], options) {
        if (!id) usage('alerts', 'ack', this);
        const alert = (await call(options, 'POST', `/alerts/alerts/${encodeURIComponent(id)}/acknowledge`)) as Alert;
        return { raw: alert, human: () => `${alert.id} is ${alert.status}` };
      },
    },
    resolve: {
      args: '<id>',
      summary: 'resolve an alert by hand',
      async run([id], options) {
        if (!id) usage('alerts', 'resolve', this);
        const alert = (await call(options, 'POST', `/alerts/alerts/${encodeURIComponent(id)}/resolve`)) as Alert;
        return { raw: alert, human: () => `${alert.id} is ${alert.status}` };
      },
    },
    rules: {
      summary: 'the alert rules in force (built-in, configured, added through the API)',
      async run(_args, options) {
        const answer = (await call(options, 'GET', '/alerts/alert-rules')) as { rules: Rule[] };
        const rows = answer.rules.map((r) => [r.name, `${r.metric} ${r.comparator} ${r.threshold}`, `${r.windowSeconds} s`, r.severity, r.service ?? 'every service', r.channels.join(',') || null, r.enabled ? 'yes' : 'no', r.source]);
        return { raw: answer, human: () => renderTable(['name', 'condition', 'window', 'severity', 'service', 'channels', 'enabled', 'source'], rows, '(no rules)') };
      },
    },
    'rule-put': {
      args: '<rule.json>',
      summary: 'create or replace the rule in the file (its body as POST /alerts/alert-rules takes it)',
      async run([file], options) {
        if (!file) usage('alerts', 'rule-put', this);
        const rule = readJsonFile(file) as { name?: unknown };
        if (typeof rule?.name !== 'string' || rule.name === '') throw new CliError(`${file}: the rule needs a "name"`, EXIT.usage);
        const answer = await call(options, 'PUT', `/alerts/alert-rules/${encodeURIComponent(rule.name)}`, rule);
        return { raw: answer, human: () => `saved rule ${rule.name as string}` };
      },
    },
    'rule-remove': {
      args: '<name>',
      summary: 'delete a rule added through the API',
      async run([name], options) {
        if (!name) usage('alerts', 'rule-remove', this);
        await call(options, 'DELETE', `/alerts/alert-rules/${encodeURIComponent(name)}`);
        return { raw: { deleted: name }, human: () => `deleted rule ${name}` };
      },
    },
    channels: {
      summary: 'notification channels (secrets are never shown)',
      async run(_args, options) {
        const answer = (await call(options, 'GET', '/alerts/notification-channels')) as { channels: Channel[] };
        const rows = answer.channels.map((ch) => [ch.name, ch.type, ch.url ?? ch.apiUrl, ch.minSeverity ?? 'any', ch.source]);
        return { raw: answer, human: () => renderTable(['name', 'type', 'url', 'min severity', 'source'], rows, '(no channels)') };
      },
    },
    'channel-put': {
      args: '<channel.json>',
      summary: 'add or replace the channel in the file',
      async run([file], options) {
        if (!file) usage('alerts', 'channel-put', this);
        const channel = (await call(options, 'POST', '/alerts/notification-channels', readJsonFile(file))) as Channel;
        return { raw: channel, human: () => `saved channel ${channel.name}` };
      },
    },
    'channel-remove': {
      args: '<name>',
      summary: 'delete a channel added through the API',
      async run([name], options) {
        if (!name) usage('alerts', 'channel-remove', this);
        await call(options, 'DELETE', `/alerts/notification-channels/${encodeURIComponent(name)}`);
        return { raw: { deleted: name }, human: () => `deleted channel ${name}` };
      },
    },
    stats: {
      summary: 'alert counts, mean time to acknowledge and resolve, deliveries',
      async run(_args, options) {
        const s = (await call(options, 'GET', '/alerts/statistics')) as AlertStatistics;
        const counts = (byKey: Record<string, number>) => Object.entries(byKey).map(([key, n]) => `${key} ${n}`).join(', ') || null;
        const seconds = (ms: number | null) => (ms === null ? null : `${(ms / 1000).toFixed(1)} s`);
        return {
          raw: s,
          human: () =>
            renderFields([
              ['alerts', s.total],
              ['by severity', counts(s.bySeverity)],
              ['by status', counts(s.byStatus)],
              ['by rule', counts(s.byRule)],
              ['suppressed (cooldown)', s.suppressed],
              ['mean time to acknowledge', seconds(s.meanTimeToAcknowledgeMs)],
              ['mean time to resolve', seconds(s.meanTimeToResolveMs)],
              ['deliveries ok / failed / dead-lettered', `${s.deliveries.ok} / ${s.deliveries.failed} / ${s.deliveries.deadLettered}`],
            ]),
        };
      },
    },
    test: {
      args: '<channel>[,<channel>...] [--severity info]',
      summary: 'send a test alert through the named channels (through the queue)',
      async run([channels], options) {
        if (!channels) usage('alerts', 'test', this);
        const answer = (await call(options, 'POST', '/alerts/test-alert', { severity: options.severity ?? 'info', channels: channels.split(',') })) as { alert: { id: string }; enqueued: string[] };
        return { raw: answer, human: () => `test alert ${answer.alert.id} queued for ${answer.enqueued.join(', ')} (see: alerts show ${answer.alert.id})` };
      },
    },
  },
  metrics: {
    show: {
      args: '[--range 60m|2h|1d]',
      summary: 'per service over the range: requests, req/s, error rate, p95, breaker (from /metrics/json)',
      async run(_args, options) {
        const answer = (await call(options, 'GET', `/metrics/json${queryOf(options, ['range'])}`)) as { rangeMinutes: number; source: string; services: ServiceMetrics[] };
        const rows = answer.services.map((s) => {
          const { requests, errors, timedRequests, rateLimited } = s.totals;
          // p95 over the range is not the mean of per-minute p95s; the worst minute is what an operator looks for.
          const p95s = s.series.map((point) => point.p95Ms).filter((value): value is number => value !== null);
          return [
            s.service,
            requests,
            (requests / (answer.rangeMinutes * 60)).toFixed(2),
            // Over the timed requests, as the read plane's error rate: the gateway's own 4xx refusals are left out.
            timedRequests === 0 ? null : percent(errors / timedRequests),
            rateLimited,
            p95s.length ? `${Math.round(Math.max(...p95s))} ms` : null,
            s.breaker,
            s.instances.length,
          ];
        });
        return {
          raw: answer,
          human: () =>
            `${renderTable(['service', 'requests', 'req/s', 'error rate', 'rate limited', 'worst p95', 'breaker', 'instances'], rows, '(no services)')}\n\nlast ${answer.rangeMinutes} min, source ${answer.source}`,
        };
      },
    },
  },
  audit: {
    list: {
      args: '[--limit N]',
      summary: 'the registry’s audit log, newest first',
      async run(_args, options) {
        const answer = (await call(options, 'GET', `/gateway/audit${options.limit ? `?limit=${encodeURIComponent(options.limit)}` : ''}`)) as { entries: { at: string; actor: string; action: string; target: string }[] };
        return { raw: answer, human: () => renderTable(['at', 'actor', 'action', 'target'], answer.entries.map((e) => [e.at, e.actor, e.action, e.target])) };
      },
    },
  },
};

/** --help: generated from COMMANDS, so it cannot drift from what the CLI does. */
export function helpText(): string {
  const lines = ['usage: npm run gateway -- <command> [arguments] [options]', '', 'Commands (a bare noun such as `services` lists):'];
  const entries = Object.entries(COMMANDS).flatMap(([noun, verbs]) =>
    Object.entries(verbs).map(([verb, command]) => [Object.keys(verbs).length === 1 ? noun : `${noun} ${verb}`, command.args ?? '', command.summary] as const),
  );
  // Name and arguments on one line, what it does on the next: the longest arguments would push a column off screen.
  for (const [name, args, summary] of entries) lines.push(`  ${name} ${args}`.trimEnd(), `      ${summary}`);
  lines.push(
    '',
    'Options:',
    '  --url URL       the gateway (default $GATEWAY_URL, else http://127.0.0.1:8787)',
    '  --token TOKEN   admin token (default $ADMIN_TOKEN, else ADMIN_TOKEN from .dev.vars)',
    '  --json          print the admin API’s raw JSON answer instead of a table',
    '  --timeout MS    per request (default 10000)',
    '  -h, --help      this help',
    '',
    'Exit codes: 0 ok, 1 the gateway answered with an error, 2 bad usage, 3 gateway unreachable or not the admin',
    'API, 4 not authorised (401/403), 5 not found (404). See docs/cli.md.',
  );
  return lines.join('\n');
}

/** Finds the command for the positionals: `noun verb …`, or a bare noun for its list (or only) verb. */
function resolve(positionals: string[]): { command: Command; args: string[] } {
  const [noun, verb, ...rest] = positionals;
  const verbs = noun ? COMMANDS[noun] : undefined;
  if (!verbs) throw new CliError(`unknown command "${positionals.join(' ')}"; try --help`, EXIT.usage);
  if (verb && verbs[verb]) return { command: verbs[verb], args: rest };
  const fallback = verbs.list ?? (Object.keys(verbs).length === 1 ? Object.values(verbs)[0] : undefined);
  if (!verb && fallback) return { command: fallback, args: [] };
  throw new CliError(`unknown command "${positionals.join(' ')}"; ${noun} takes: ${Object.keys(verbs).join(', ')}`, EXIT.usage);
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`${(error as Error).message}; try --help`);
    return EXIT.usage;
  }
  const { values: options, positionals } = parsed;
  if (options.help || positionals.length === 0) {
    console.log(helpText());
    return positionals.length === 0 && !options.help ? EXIT.usage : EXIT.ok;
  }
  try {
    if (!(Number(options.timeout) > 0)) throw new CliError('--timeout must be a positive number of milliseconds', EXIT.usage);
    const { command, args } = resolve(positionals);
    emit(await command.run(args, options), options.json);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CliError) {
      console.error(error.message);
      return error.code;
    }
    throw error;
  }
}

// Run as a script; importing the module (tests, a wrapper) only gets COMMANDS and helpText.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main(process.argv.slice(2));
