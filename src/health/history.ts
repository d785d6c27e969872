/**
 * @module Health-check history in a service state object's SQLite: every probe result and every transition,
 * newest first, bounded by count and by age.
 */
import type { HealthTransition } from './instance-health.ts';
import type { ProbeResult } from './probe.ts';

/** The tables, added to the object's migrations (docs/storage.md). */
export const HEALTH_MIGRATION = `
  CREATE TABLE health_plan (id INTEGER PRIMARY KEY CHECK (id = 1), plan TEXT NOT NULL, armed_at INTEGER NOT NULL);
  CREATE TABLE health_instances (instance TEXT PRIMARY KEY, record TEXT NOT NULL);
  CREATE TABLE health_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, instance TEXT NOT NULL, kind TEXT NOT NULL,
    ok INTEGER, status INTEGER, latency_ms REAL, error TEXT, figures TEXT, from_status TEXT, to_status TEXT, reason TEXT
  );
  CREATE INDEX health_history_at ON health_history (at);`;

// A type alias, not an interface: rows read from SQLite must be plain records.
export type HealthHistoryEntry = {
  id: number;
  at: number;
  instance: string;
  kind: 'probe' | 'transition';
  ok: boolean | null;
  status: number | null;
  latencyMs: number | null;
  error: string | null;
  figures: Record<string, number> | null;
  from: string | null;
  to: string | null;
  reason: string | null;
};

export interface HistoryFilter {
  instance?: string;
  since?: number;
  limit: number;
}

type Row = {
  id: number;
  at: number;
  instance: string;
  kind: 'probe' | 'transition';
  ok: number | null;
  status: number | null;
  latency_ms: number | null;
  error: string | null;
  figures: string | null;
  from_status: string | null;
  to_status: string | null;
  reason: string | null;
};

export function recordProbe(sql: SqlStorage, result: ProbeResult): void {
  sql.exec(
    'INSERT INTO health_history (at, instance, kind, ok, status, latency_ms, error, figures) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    result.at,
    result.instance,
    'probe',
    result.ok ? 1 : 0,
    result.status,
    result.latencyMs,
    result.error,
    Object.keys(result.figures).length > 0 ? JSON.stringify(result.figures) : null,
  );
}

export function recordTransition(sql: SqlStorage, transition: HealthTransition): void {
  sql.exec(
    'INSERT INTO health_history (at, instance, kind, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?, ?)',
    transition.at,
    transition.instance,
    'transition',
    transition.from,
    transition.to,
    transition.reason,
  );
}

/** Deletes what is beyond `maxEntries` (oldest first) or older than `maxAgeMs`. */
export function pruneHistory(sql: SqlStorage, now: number, bounds: { maxEntries: number; maxAgeMs: number }): void {
  sql.exec('DELETE FROM health_history WHERE at < ?', now - bounds.maxAgeMs);
  sql.exec('DELETE FROM health_history WHERE id <= (SELECT MAX(id) FROM health_history) - ?', bounds.maxEntries);
}

/** Entries newest first, optionally for one instance and since a time. */
export function readHistory(sql: SqlStorage, filter: HistoryFilter): HealthHistoryEntry[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (filter.instance !== undefined) {
    where.push('instance = ?');
    params.push(filter.instance);
  }
  if (filter.since !== undefined) {
    where.push('at >= ?');
    params.push(filter.since);
  }
  const rows = sql
    .exec<Row>(`SELECT * FROM health_history ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`, ...params, filter.limit)
    .toArray();
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    instance: row.instance,
    kind: row.kind,
    ok: row.ok === null ? null : row.ok === 1,
    status: row.status,
    latencyMs: row.latency_ms,
    error: row.error,
    figures: row.figures === null ? null : (JSON.parse(row.figures) as Record<string, number>),
    from: row.from_status,
    to: row.to_status,
    reason: row.reason,
  }));
}
