/**
 * @module The read plane's recent traces of one service, kept by its state object (never one object for the
 * whole edge): a bounded ring in SQLite, fed by the isolates' sync reports. Layout: docs/storage.md.
 */
import type { TraceRecord } from './trace-sampling.ts';

export interface TraceQuery {
  traceId?: string;
  requestId?: string;
  status?: number;
  minDurationMs?: number;
  limit?: number;
}

/** Most traces a service object keeps when the report does not say. */
export const DEFAULT_TRACES_KEPT = 200;

export class ServiceTraces {
  readonly #sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.#sql = storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS traces (id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL, request_id TEXT NOT NULL,
        start INTEGER NOT NULL, status INTEGER NOT NULL, duration_ms REAL NOT NULL, record TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS traces_trace_id ON traces (trace_id);
      CREATE INDEX IF NOT EXISTS traces_request_id ON traces (request_id);`);
  }

  add(traces: readonly TraceRecord[], kept: number): void {
    if (traces.length === 0) return;
    for (const trace of traces) {
      this.#sql.exec(
        'INSERT INTO traces (trace_id, request_id, start, status, duration_ms, record) VALUES (?, ?, ?, ?, ?, ?)',
        trace.traceId,
        trace.requestId,
        trace.start,
        trace.status,
        trace.durationMs,
        JSON.stringify(trace),
      );
    }
    this.#sql.exec('DELETE FROM traces WHERE id <= (SELECT MAX(id) FROM traces) - ?', Math.max(1, kept));
  }

  /** Newest first. */
  find(query: TraceQuery): TraceRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.traceId !== undefined) (where.push('trace_id = ?'), params.push(query.traceId));
    if (query.requestId !== undefined) (where.push('request_id = ?'), params.push(query.requestId));
    if (query.status !== undefined) (where.push('status = ?'), params.push(query.status));
    if (query.minDurationMs !== undefined) (where.push('duration_ms >= ?'), params.push(query.minDurationMs));
    const sql = `SELECT record FROM traces ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.#sql
      .exec<{ record: string }>(sql, ...params, Math.min(Math.max(1, query.limit ?? 50), 500))
      .toArray()
      .map((row) => JSON.parse(row.record) as TraceRecord);
  }
}
