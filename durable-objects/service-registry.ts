/**
 * @module The service registry: the live changes operators made through the admin API, on top of the deployed
 * configuration, with a version every isolate polls and an audit log of who changed what. Control plane only:
 * isolates read it once when they start and then only when its version moves, never per request.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import type { GatewayConfig } from '../src/config/schema.ts';
import type { InstanceRecord, Overlay, RouteRecord, ServiceRecord } from '../src/control-plane/overlay.ts';
import { migrate } from '../src/state/sqlite-migrations.ts';

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
];

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
        audit.before === undefined ? null : JSON.stringify(audit.before),
        audit.after === undefined ? null : JSON.stringify(audit.after),
        audit.requestId,
      );
    });
    this.#version = version;
    return { applied: true, version };
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
