/**
 * @module The alerts of the whole gateway: open and past alerts, their delivery attempts, the rules and channels
 * added through the admin API, their audit, and the evaluation schedule. One object (control plane, not the
 * request path): it is called once per evaluation and by operators.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import type { Channel } from '../src/alerting/channel-config.ts';
import type { Notification } from '../src/alerting/notification.ts';
import { evaluateOnSchedule, queueSender } from '../src/alerting/evaluator.ts';
import { acknowledge, resolveByHand, step, type Alert, type AlertStatistics, type AlertStatus, type Condition, type Transition } from '../src/alerting/lifecycle.ts';
import type { AlertRule, Severity } from '../src/alerting/rules.ts';
import { migrate } from '../src/state/infra/sqlite-migrations.ts';

const MIGRATIONS = [
  `CREATE TABLE alerts (id TEXT PRIMARY KEY, rule TEXT NOT NULL, service TEXT NOT NULL, status TEXT NOT NULL, fired_at INTEGER NOT NULL, resolved_at INTEGER, data TEXT NOT NULL);
   CREATE INDEX alerts_open ON alerts (rule, service, status);
   CREATE INDEX alerts_fired ON alerts (fired_at);
   CREATE TABLE alert_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, at INTEGER NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, attempt INTEGER NOT NULL, ok INTEGER NOT NULL, status INTEGER, detail TEXT NOT NULL);
   CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id);
   CREATE TABLE alert_rules (name TEXT PRIMARY KEY, rule TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE alert_channels (name TEXT PRIMARY KEY, channel TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE alert_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, before TEXT, after TEXT);
   CREATE TABLE alert_suppressed (rule TEXT NOT NULL, service TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (rule, service));
   CREATE TABLE alert_dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, alert_id TEXT NOT NULL, channel TEXT NOT NULL, notification TEXT NOT NULL);`,
  // The outbox: a transition's notifications are written with the alert, and deleted once the queue has them.
  `CREATE TABLE alert_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, notification TEXT NOT NULL);`,
];

/** Resolved alerts kept (with their deliveries); open alerts are never deleted. */
const RESOLVED_KEPT = 1_000;
const AUDIT_KEPT = 1_000;
const DEAD_LETTERS_KEPT = 1_000;

export interface AlertFilter {
  status?: AlertStatus;
  severity?: Severity;
  service?: string;
  limit?: number;
}

export type Delivery = { at: number; channel: string; kind: string; attempt: number; ok: boolean; status: number | null; detail: string };
export type AlertWithDeliveries = Alert & { deliveries: Delivery[] };

export class AlertManager extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, MIGRATIONS));
  }

  /** Applies one evaluation's conditions: fires, updates, resolves or suppresses; returns the transitions. */
  async evaluate(conditions: Condition[], now = Date.now()): Promise<Transition[]> {
    const sql = this.ctx.storage.sql;
    const transitions: Transition[] = [];
    this.ctx.storage.transactionSync(() => {
      for (const condition of conditions) {
        const open = this.#open(condition.rule, condition.service);
        const lastResolvedAt = sql
          .exec<{ at: number | null }>("SELECT MAX(resolved_at) AS at FROM alerts WHERE rule = ? AND service = ? AND status = 'resolved'", condition.rule, condition.service)
          .one().at ?? undefined;
        const { transition, alert } = step(condition, open, lastResolvedAt, now, () => crypto.randomUUID());
        if (alert) this.#store(alert);
        if (!transition) continue;
        transitions.push(transition);
        if (transition.kind === 'suppressed') {
          sql.exec('INSERT INTO alert_suppressed (rule, service, count) VALUES (?, ?, 1) ON CONFLICT (rule, service) DO UPDATE SET count = count + 1', condition.rule, condition.service);
        }
      }
      this.#prune();
    });
    return transitions;
  }

  /** A test alert through the given channels (POST /alerts/test-alert); it is stored resolved, so it never lingers. */
  async recordTestAlert(severity: Severity, by: string, now = Date.now()): Promise<Alert> {
    const alert: Alert = {
      id: crypto.randomUUID(),
      rule: 'test-alert',
      service: 'gateway',
      severity,
      status: 'resolved',
      value: 0,
      threshold: 0,
      message: `Test alert sent by ${by}`,
      firedAt: now,
      resolvedAt: now,
      resolvedBy: by,
    };
    this.#store(alert);
    return alert;
  }

  async list(filter: AlertFilter = {}): Promise<Alert[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.status) (where.push('status = ?'), params.push(filter.status));
    if (filter.service) (where.push('service = ?'), params.push(filter.service));
    const rows = this.ctx.storage.sql
      .exec<{ data: string }>(`SELECT data FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY fired_at DESC`, ...params)
      .toArray()
      .map((row) => JSON.parse(row.data) as Alert);
    return rows.filter((alert) => !filter.severity || alert.severity === filter.severity).slice(0, filter.limit ?? 100);
  }

  async get(id: string): Promise<AlertWithDeliveries | null> {
    const row = this.ctx.storage.sql.exec<{ data: string }>('SELECT data FROM alerts WHERE id = ?', id).toArray()[0];
    if (!row) return null;
    const deliveries = this.ctx.storage.sql
      .exec<{ at: number; channel: string; kind: string; attempt: number; ok: number; status: number | null; detail: string }>(
        'SELECT at, channel, kind, attempt, ok, status, detail FROM alert_deliveries WHERE alert_id = ? ORDER BY id',
        id,
      )
      .toArray()
      .map((delivery) => ({ ...delivery, ok: delivery.ok === 1 }));
    return { ...(JSON.parse(row.data) as Alert), deliveries };
  }

  async acknowledge(id: string, by: string): Promise<Alert | 'not-found' | 'conflict'> {
    return this.#change(id, (alert) => acknowledge(alert, by, Date.now()));
  }

  async resolve(id: string, by: string): Promise<Alert | 'not-found' | 'conflict'> {
    return this.#change(id, (alert) => resolveByHand(alert, by, Date.now()));
  }

  /** Every attempt to deliver a notification is recorded on its alert. */
  async recordDelivery(alertId: string, delivery: Delivery): Promise<void> {
    this.ctx.storage.sql.exec(
      'INSERT INTO alert_deliveries (alert_id, at, channel, kind, attempt, ok, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      alertId,
      delivery.at,
      delivery.channel,
      delivery.kind,
      delivery.attempt,
      delivery.ok ? 1 : 0,
      delivery.status,
      delivery.detail,
    );
  }

  /** A notification that failed for good, from the dead-letter queue. */
  async keepDeadLetter(notification: Notification): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      sql.exec('INSERT INTO alert_dead_letters (at, alert_id, channel, notification) VALUES (?, ?, ?, ?)', now, notification.alert.id, notification.channel, JSON.stringify(notification));
      sql.exec('DELETE FROM alert_dead_letters WHERE id <= (SELECT MAX(id) FROM alert_dead_letters) - ?', DEAD_LETTERS_KEPT);
      sql.exec(
        'INSERT INTO alert_deliveries (alert_id, at, channel, kind, attempt, ok, status, detail) VALUES (?, ?, ?, ?, 0, 0, NULL, ?)',
        notification.alert.id,
        now,
        notification.channel,
        notification.kind,
        'dead-lettered: every attempt failed; kept in the dead-letter store',
      );
    });
  }

  async deadLetters(limit = 100): Promise<Notification[]> {
    return this.ctx.storage.sql
      .exec<{ notification: string }>('SELECT notification FROM alert_dead_letters ORDER BY id DESC LIMIT ?', limit)
      .toArray()
      .map((row) => JSON.parse(row.notification) as Notification);
  }

  async statistics(): Promise<AlertStatistics> {
    const sql = this.ctx.storage.sql;
    const alerts = sql.exec<{ data: string }>("SELECT data FROM alerts WHERE rule != 'test-alert'").toArray().map((row) => JSON.parse(row.data) as Alert);
    const countBy = (key: (alert: Alert) => string) => alerts.reduce<Record<string, number>>((counts, alert) => ((counts[key(alert)] = (counts[key(alert)] ?? 0) + 1), counts), {});
    const mean = (values: number[]) => (values.length ? Math.round(values.reduce((a, b) => a + b, 0) / values.length) : null);
    const deliveries = sql.exec<{ ok: number; n: number }>('SELECT ok, COUNT(*) AS n FROM alert_deliveries GROUP BY ok').toArray();
    return {
      total: alerts.length,
      bySeverity: countBy((alert) => alert.severity),
      byStatus: countBy((alert) => alert.status),
      byRule: countBy((alert) => alert.rule),
      suppressed: sql.exec<{ n: number | null }>('SELECT SUM(count) AS n FROM alert_suppressed').one().n ?? 0,
      meanTimeToAcknowledgeMs: mean(alerts.filter((alert) => alert.acknowledgedAt !== undefined).map((alert) => alert.acknowledgedAt! - alert.firedAt)),
      meanTimeToResolveMs: mean(alerts.filter((alert) => alert.resolvedAt !== undefined).map((alert) => alert.resolvedAt! - alert.firedAt)),
      deliveries: {
        ok: deliveries.find((row) => row.ok === 1)?.n ?? 0,
        failed: deliveries.find((row) => row.ok === 0)?.n ?? 0,
        deadLettered: sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM alert_dead_letters').one().n,
      },
    };
  }

  // ---- Rules and channels added through the admin API (the configuration's own are merged in by the caller) ----

  async rules(): Promise<AlertRule[]> {
    return this.ctx.storage.sql.exec<{ rule: string }>('SELECT rule FROM alert_rules ORDER BY name').toArray().map((row) => JSON.parse(row.rule) as AlertRule);
  }

  /**
   * Creates or replaces a rule; with `createOnly`, a rule of that name is left as it is (`created: false`). The check
   * and the write are one step here: checked by the caller first, two concurrent creations both "created" the rule
   * and the second silently replaced the first.
   */
  async putRule(rule: AlertRule, actor: string, options: { createOnly?: boolean } = {}): Promise<{ created: boolean }> {
    return this.#put('alert_rules', 'rule', rule.name, rule, actor, options.createOnly ?? false);
  }

  async deleteRule(name: string, actor: string): Promise<boolean> {
    return this.#delete('alert_rules', 'rule', name, actor);
  }

  /** Stored channels, secrets included: for delivery only; the API hides them (publicChannel). */
  async channels(): Promise<Channel[]> {
    return this.ctx.storage.sql.exec<{ channel: string }>('SELECT channel FROM alert_channels ORDER BY name').toArray().map((row) => JSON.parse(row.channel) as Channel);
  }

  async putChannel(channel: Channel, actor: string): Promise<{ created: boolean }> {
    return this.#put('alert_channels', 'channel', channel.name, channel, actor);
  }

  async deleteChannel(name: string, actor: string): Promise<boolean> {
    return this.#delete('alert_channels', 'channel', name, actor);
  }

  async audit(limit = 100): Promise<{ at: number; actor: string; action: string; target: string }[]> {
    return this.ctx.storage.sql.exec<{ at: number; actor: string; action: string; target: string }>('SELECT at, actor, action, target FROM alert_audit ORDER BY id DESC LIMIT ?', limit).toArray();
  }

  // ---- The evaluation schedule: an alarm, armed by the cron and by first requests, so it runs under wrangler dev ----

  async armEvaluation(intervalMs: number): Promise<{ nextAt: number }> {
    await this.ctx.storage.put('evaluationIntervalMs', intervalMs);
    const alarm = await this.ctx.storage.getAlarm();
    const now = Date.now();
    if (alarm === null || alarm > now + intervalMs) {
      await this.ctx.storage.setAlarm(now);
      return { nextAt: now };
    }
    return { nextAt: alarm };
  }

  override async alarm(): Promise<void> {
    const intervalMs = (await this.ctx.storage.get<number>('evaluationIntervalMs')) ?? 30_000;
    await this.ctx.storage.setAlarm(Date.now() + intervalMs);
    // What an earlier run stored but could not hand to the queue (the object was reset, or the send failed) goes
    // first: an alert is stored before its notifications are sent, and the next evaluation sees no new transition.
    await this.resendOutbox();
    await evaluateOnSchedule(this.env, this, (promise) => this.ctx.waitUntil(promise), (notifications) => this.sendNotifications(notifications));
  }

  /** Sends the notifications left in the outbox; returns how many. Called by the alarm (and tests). */
  async resendOutbox(): Promise<number> {
    const rows = this.ctx.storage.sql.exec<{ id: number; notification: string }>('SELECT id, notification FROM alert_outbox ORDER BY id').toArray();
    if (rows.length === 0) return 0;
    await queueSender(this.env)(rows.map((row) => JSON.parse(row.notification) as Notification));
    this.ctx.storage.sql.exec('DELETE FROM alert_outbox WHERE id <= ?', rows[rows.length - 1]!.id);
    return rows.length;
  }

  /**
   * Writes the notifications to the outbox (in the alarm, in the same storage turn as the transitions that made
   * them), then hands them to the queue and deletes them. A send that fails or never finishes leaves them for the
   * next alarm; the queue may then deliver one twice, which the idempotency key each carries lets receivers drop.
   */
  async sendNotifications(notifications: Notification[]): Promise<void> {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const ids = notifications.map((notification) => sql.exec<{ id: number }>('INSERT INTO alert_outbox (at, notification) VALUES (?, ?) RETURNING id', now, JSON.stringify(notification)).one().id);
    await queueSender(this.env)(notifications);
    for (const id of ids) sql.exec('DELETE FROM alert_outbox WHERE id = ?', id);
  }

  #open(rule: string, service: string): Alert | undefined {
    const row = this.ctx.storage.sql
      .exec<{ data: string }>("SELECT data FROM alerts WHERE rule = ? AND service = ? AND status != 'resolved' ORDER BY fired_at DESC LIMIT 1", rule, service)
      .toArray()[0];
    return row ? (JSON.parse(row.data) as Alert) : undefined;
  }

  #store(alert: Alert): void {
    this.ctx.storage.sql.exec(
      'INSERT INTO alerts (id, rule, service, status, fired_at, resolved_at, data) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, resolved_at = excluded.resolved_at, data = excluded.data',
      alert.id,
      alert.rule,
      alert.service,
      alert.status,
      alert.firedAt,
      alert.resolvedAt ?? null,
      JSON.stringify(alert),
    );
  }

  #change(id: string, change: (alert: Alert) => Alert | 'conflict'): Alert | 'not-found' | 'conflict' {
    const row = this.ctx.storage.sql.exec<{ data: string }>('SELECT data FROM alerts WHERE id = ?', id).toArray()[0];
    if (!row) return 'not-found';
    const changed = change(JSON.parse(row.data) as Alert);
    if (changed !== 'conflict') this.#store(changed);
    return changed;
  }

  #put(table: 'alert_rules' | 'alert_channels', column: 'rule' | 'channel', name: string, value: unknown, actor: string, createOnly = false): { created: boolean } {
    const sql = this.ctx.storage.sql;
    let created = false;
    this.ctx.storage.transactionSync(() => {
      const before = sql.exec<{ value: string }>(`SELECT ${column} AS value FROM ${table} WHERE name = ?`, name).toArray()[0]?.value ?? null;
      created = before === null;
      if (createOnly && !created) return;
      sql.exec(`INSERT INTO ${table} (name, ${column}, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET ${column} = excluded.${column}, updated_at = excluded.updated_at`, name, JSON.stringify(value), Date.now());
      // Channel secrets never reach the audit log.
      this.#audit(actor, `${column}-${created ? 'created' : 'replaced'}`, name, redact(before), redact(JSON.stringify(value)));
    });
    return { created };
  }

  #delete(table: 'alert_rules' | 'alert_channels', column: 'rule' | 'channel', name: string, actor: string): boolean {
    const sql = this.ctx.storage.sql;
    const before = sql.exec<{ value: string }>(`SELECT ${column} AS value FROM ${table} WHERE name = ?`, name).toArray()[0]?.value;
    if (before === undefined) return false;
    this.ctx.storage.transactionSync(() => {
      sql.exec(`DELETE FROM ${table} WHERE name = ?`, name);
      this.#audit(actor, `${column}-deleted`, name, redact(before), null);
    });
    return true;
  }

  #audit(actor: string, action: string, target: string, before: string | null, after: string | null): void {
    const sql = this.ctx.storage.sql;
    sql.exec('INSERT INTO alert_audit (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)', Date.now(), actor, action, target, before, after);
    sql.exec('DELETE FROM alert_audit WHERE id <= (SELECT MAX(id) FROM alert_audit) - ?', AUDIT_KEPT);
  }

  #prune(): void {
    const sql = this.ctx.storage.sql;
    const cutoff = sql
      .exec<{ at: number | null }>("SELECT resolved_at AS at FROM alerts WHERE status = 'resolved' ORDER BY resolved_at DESC LIMIT 1 OFFSET ?", RESOLVED_KEPT)
      .toArray()[0]?.at;
    if (cutoff === undefined || cutoff === null) return;
    sql.exec("DELETE FROM alert_deliveries WHERE alert_id IN (SELECT id FROM alerts WHERE status = 'resolved' AND resolved_at <= ?)", cutoff);
    sql.exec("DELETE FROM alerts WHERE status = 'resolved' AND resolved_at <= ?", cutoff);
  }
}

function redact(json: string | null): string | null {
  if (json === null) return null;
  const value = JSON.parse(json) as Record<string, unknown>;
  for (const field of ['secret', 'apiKey', 'authToken']) if (field in value) value[field] = '[redacted]';
  return JSON.stringify(value);
}
