/**
 * @module The service registry: the live changes operators made through the admin API, on top of the deployed
 * configuration, with a version every isolate polls and an audit log of who changed what. Control plane only:
 * isolates read it once when they start and then only when its version moves, never per request.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import type { GatewayConfig } from '../src/config/schema.ts';
import type { InstanceRecord, Overlay, RouteRecord, ServiceRecord } from '../src/control-plane/overlay.ts';
import { ConfigError, parseGatewayConfig } from '../src/config/load.ts';
import { applyOverlay, withChange } from '../src/control-plane/overlay.ts';
import { planWrite, type RegistryIntent, type WriteAnswer } from '../src/control-plane/registry-plans.ts';
import { storedDetail } from '../src/control-plane/audit-detail.ts';
import { GatewayError } from '../src/errors/problem.ts';
import type { ProblemKind, ProblemParams } from '../src/errors/messages.ts';
import { migrate } from '../src/state/infra/sqlite-migrations.ts';

const MIGRATIONS = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE services (name TEXT PRIMARY KEY, settings TEXT, deleted INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE instances (
     service TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL, weight INTEGER NOT NULL, metadata TEXT NOT NULL,
     health TEXT NOT NULL DEFAULT 'unknown', deleted INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (service, id));
   CREATE TABLE routes (id TEXT PRIMARY KEY, service TEXT NOT NULL, route TEXT NOT NULL, deleted INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
     before TEXT, after TEXT, request_id TEXT);`,
  // Writes already applied, by the idempotency key the caller fixed before its first attempt: a retry after a
  // lost reply gets the first answer instead of applying the write twice.
  `CREATE TABLE writes (key TEXT PRIMARY KEY, version INTEGER NOT NULL, answer TEXT NOT NULL, at INTEGER NOT NULL);`,
];

/** Applied-write keys are kept this long: far longer than any retry of one admin request. */
const WRITE_KEY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** What one admin action changes; applied in one transaction with its audit entry. */
export interface RegistryChange {
  gateway?: GatewayConfig['gateway'] | null;
  services?: ServiceRecord[];
  instances?: InstanceRecord[];
  routes?: RouteRecord[];
  /** Replaces every change held so far (PUT /gateway/config). */
  replaceAll?: Overlay;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;

/** `applied: false`: the registry had moved on from the expected version; `version` is where it is now. */
export interface ApplyResult {
  applied: boolean;
  version: number;
}

/** One admin write, sent to the registry whole: it is planned, validated and applied there, in order. */
export interface WriteRequest {
  /** Fixed by the caller before its first attempt, so a retried write is recognised. */
  key: string;
  /** From If-Match: apply only at this version (else 412). Null: apply to whatever is current. */
  expectedVersion: number | null;
  intent: RegistryIntent;
  /** The deployed configuration the caller runs on, which the registry's changes apply to. */
  base: GatewayConfig;
  actor: string;
  requestId: string;
}

/** A problem, as data that crosses RPC (a GatewayError's class does not). */
export interface WriteProblem {
  kind: ProblemKind;
  params: ProblemParams;
  extensions: Record<string, unknown>;
  headers: Record<string, string>;
}

export type WriteResult =
  | { ok: true; version: number; answer: WriteAnswer; overlay: Overlay; repeated: boolean }
  | { ok: false; problem: WriteProblem };

function problemOf(error: GatewayError): WriteProblem {
  return { kind: error.kind, params: error.params, extensions: { ...error.extensions }, headers: Object.fromEntries(error.headers) };
}

export class ServiceRegistry extends DurableObject<Env> {
  #version = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, MIGRATIONS);
      const row = ctx.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'version'").toArray()[0];
      this.#version = row ? Number(row.value) : 0;
    });
  }

  /** The configuration version: 0 until the first change, then one more per change. */
  async version(): Promise<number> {
    return this.#version;
  }

  /** Every change held, with the version they make up. */
  async snapshot(): Promise<{ version: number; overlay: Overlay }> {
    return this.#snapshot();
  }

  /**
   * Plans, validates and applies one admin write against the registry as it is now. Synchronous from the read to
   * the write (no await), so writes are applied one at a time, in arrival order: concurrent writes without If-Match
   * all land, and 412 is answered only to an If-Match that names another version. A key seen before gets the
   * answer it got then.
   */
  async write(request: WriteRequest): Promise<WriteResult> {
    const sql = this.ctx.storage.sql;
    const seen = sql.exec<{ version: number; answer: string }>('SELECT version, answer FROM writes WHERE key = ?', request.key).toArray()[0];
    if (seen) return { ok: true, version: seen.version, answer: JSON.parse(seen.answer), overlay: this.#snapshot().overlay, repeated: true };
    try {
      if (request.expectedVersion !== null && request.expectedVersion !== this.#version) {
        throw new GatewayError('precondition-failed', { expected: request.expectedVersion, current: this.#version }, { headers: { etag: `"${this.#version}"` } });
      }
      const { version, overlay } = this.#snapshot();
      const { base } = request;
      const config = parseGatewayConfig(applyOverlay(base, overlay).config, `registry version ${version}`);
      const plan = planWrite(request.intent, { base, config, overlay });
      if (plan.noop) return { ok: true, version, answer: plan.answer, overlay, repeated: false };
      const next = withChange(overlay, plan.change);
      try {
        parseGatewayConfig(applyOverlay(base, next).config, 'the changed configuration');
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new GatewayError('invalid-configuration', { count: error.issues.length }, { extensions: { errors: error.issues.map(issueOf) } });
      }
      const audit = { actor: request.actor, action: plan.action, target: plan.target, before: plan.before, after: plan.after, requestId: request.requestId };
      const applied = this.#apply(plan.change, audit, { key: request.key, answer: plan.answer });
      return { ok: true, version: applied, answer: plan.answer, overlay: next, repeated: false };
    } catch (error) {
      if (error instanceof GatewayError) return { ok: false, problem: problemOf(error) };
      throw error;
    }
  }

  #snapshot(): { version: number; overlay: Overlay } {
    const sql = this.ctx.storage.sql;
    const gateway = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'gateway'").toArray()[0];
    const services = sql
      .exec<{ name: string; settings: string | null; deleted: number }>('SELECT name, settings, deleted FROM services ORDER BY rowid')
      .toArray()
      .map((row) => ({ name: row.name, settings: row.settings === null ? null : JSON.parse(row.settings), deleted: row.deleted === 1 }));
    const instances = sql
      .exec<{ service: string; id: string; url: string; weight: number; metadata: string; deleted: number }>(
        'SELECT service, id, url, weight, metadata, deleted FROM instances ORDER BY created_at, rowid',
      )
      .toArray()
      .map((row) => ({ service: row.service, id: row.id, url: row.url, weight: row.weight, metadata: JSON.parse(row.metadata), deleted: row.deleted === 1 }));
    const routes = sql
      .exec<{ id: string; service: string; route: string; deleted: number }>('SELECT id, service, route, deleted FROM routes ORDER BY rowid')
      .toArray()
      .map((row) => ({ id: row.id, service: row.service, route: JSON.parse(row.route), deleted: row.deleted === 1 }));
    return { version: this.#version, overlay: { gateway: gateway ? JSON.parse(gateway.value) : null, services, instances, routes } };
  }

  /**
   * Applies `change` if the registry is still at `expectedVersion` (optimistic concurrency: the caller validated
   * the change against that version), and records `audit` with it, in one transaction.
   */
  async apply(expectedVersion: number, change: RegistryChange, audit: AuditInput): Promise<ApplyResult> {
    if (expectedVersion !== this.#version) return { applied: false, version: this.#version };
    return { applied: true, version: this.#apply(change, audit) };
  }

  /** Stores `change` and its audit entry (and the write's key and answer) in one transaction; the new version. */
  #apply(change: RegistryChange, audit: AuditInput, write?: { key: string; answer: WriteAnswer }): number {
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const version = this.#version + 1;
    this.ctx.storage.transactionSync(() => {
      if (change.replaceAll) {
        sql.exec('DELETE FROM services');
        sql.exec('DELETE FROM instances');
        sql.exec('DELETE FROM routes');
        sql.exec("DELETE FROM meta WHERE key = 'gateway'");
      }
      const overlay = change.replaceAll ?? { gateway: change.gateway, services: change.services ?? [], instances: change.instances ?? [], routes: change.routes ?? [] };
      if (overlay.gateway) sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('gateway', ?)", JSON.stringify(overlay.gateway));
      for (const service of overlay.services) {
        sql.exec(
          'INSERT INTO services (name, settings, deleted, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, deleted = excluded.deleted, updated_at = excluded.updated_at',
          service.name,
          service.settings === null ? null : JSON.stringify(service.settings),
          service.deleted ? 1 : 0,
          now,
        );
      }
      for (const instance of overlay.instances) {
        sql.exec(
          `INSERT INTO instances (service, id, url, weight, metadata, deleted, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (service, id) DO UPDATE SET url = excluded.url, weight = excluded.weight, metadata = excluded.metadata,
             deleted = excluded.deleted, updated_at = excluded.updated_at`,
          instance.service,
          instance.id,
          instance.url,
          instance.weight,
          JSON.stringify(instance.metadata),
          instance.deleted ? 1 : 0,
          now,
          now,
        );
      }
      for (const route of overlay.routes) {
        sql.exec(
          'INSERT INTO routes (id, service, route, deleted, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET service = excluded.service, route = excluded.route, deleted = excluded.deleted, updated_at = excluded.updated_at',
          route.id,
          route.service,
          JSON.stringify(route.route),
          route.deleted ? 1 : 0,
          now,
        );
      }
      sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)", String(version));
      sql.exec(
        'INSERT INTO audit (at, actor, action, target, before, after, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
        now,
        audit.actor,
        audit.action,
        audit.target,
        // Bounded: a row past the platform's 2 MB would fail the whole change (audit-detail.ts).
        audit.before === undefined ? null : storedDetail(audit.before),
        audit.after === undefined ? null : storedDetail(audit.after),
        audit.requestId,
      );
      if (write) {
        sql.exec('DELETE FROM writes WHERE at < ?', now - WRITE_KEY_RETENTION_MS);
        // A retry after a lost reply to a very large apply gets the summary of its changes instead of the list.
        const answer = `{"status":${write.answer.status},"body":${storedDetail(write.answer.body)}}`;
        sql.exec('INSERT INTO writes (key, version, answer, at) VALUES (?, ?, ?, ?)', write.key, version, answer, now);
      }
    });
    this.#version = version;
    return version;
  }

  /** Audit entries, newest first; `before` pages back from an entry id. */
  async audit(limit: number, before?: number): Promise<AuditEntry[]> {
    const rows = this.ctx.storage.sql
      .exec<{ id: number; at: number; actor: string; action: string; target: string; before: string | null; after: string | null; request_id: string | null }>(
        'SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?',
        before ?? Number.MAX_SAFE_INTEGER,
        limit,
      )
      .toArray();
    return rows.map((row) => ({
      id: row.id,
      at: row.at,
      actor: row.actor,
      action: row.action,
      target: row.target,
      before: row.before === null ? null : JSON.parse(row.before),
      after: row.after === null ? null : JSON.parse(row.after),
      requestId: row.request_id,
    }));
  }
}

/** `services[2].instances[0].url: expected ...` → `{ path, message }`. */
function issueOf(issue: string): { path: string; message: string } {
  const separator = issue.indexOf(': ');
  return separator === -1 ? { path: '', message: issue } : { path: issue.slice(0, separator), message: issue.slice(separator + 2) };
}
