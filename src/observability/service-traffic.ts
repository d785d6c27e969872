/**
 * @module The read plane's part of a service's state object: per-minute sums of the service's global traffic for
 * a bounded window, and cumulative sums since the object was created, fed by the isolates' sync reports (no call
 * of its own on the request path). Storage layout: docs/storage.md.
 */
import type { TrafficBatch } from '../state/protocol/service-state-protocol.ts';
import {
  addSums,
  emptySums,
  errorCount,
  isCompatible,
  minuteOf,
  quantileMs,
  rateLimitedCount,
  timedRequestCount,
  totalRequests,
  type TrafficSums,
} from './traffic-sums.ts';
import type { WindowSummary } from './window-summary.ts';

/** Minutes of per-minute sums kept; `/metrics/json` and alert windows reach back at most this far. */
export const MINUTES_KEPT = 120;
/** An isolate that has not reported for this long is forgotten, with the last batch number it sent. */
const ISOLATE_FORGOTTEN_MS = 60 * 60_000;

export interface TrafficSeries {
  service: string;
  /** When the cumulative sums started (the object's first traffic), epoch ms. */
  since: number;
  totals: TrafficSums;
  /** Oldest first, every minute of the range, zeros included. */
  minutes: { at: number; sums: TrafficSums }[];
}

export class ServiceTraffic {
  readonly #sql: SqlStorage;
  readonly #minutes = new Map<number, TrafficSums>();
  #totals = emptySums();
  #since = 0;
  #service = '';
  /** Last batch counted per isolate, so a batch sent again after a timed-out call is not counted twice. */
  readonly #applied = new Map<string, { seq: number; at: number }>();

  /** Sets up the tables and loads what is stored; call it from the object's constructor under blockConcurrencyWhile. */
  constructor(storage: DurableObjectStorage, fallbackName: string) {
    this.#sql = storage.sql;
    // Own tables created idempotently, apart from the object's numbered migrations, so the other planes' schema
    // changes to the same object never collide with these.
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS traffic_minutes (minute INTEGER PRIMARY KEY, sums TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS traffic_totals (id INTEGER PRIMARY KEY CHECK (id = 1), service TEXT NOT NULL, since INTEGER NOT NULL, sums TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS traffic_applied (isolate TEXT PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL);`);
    for (const row of this.#sql.exec<{ isolate: string; seq: number; at: number }>('SELECT isolate, seq, at FROM traffic_applied').toArray()) {
      this.#applied.set(row.isolate, { seq: row.seq, at: row.at });
    }
    for (const row of this.#sql.exec<{ minute: number; sums: string }>('SELECT minute, sums FROM traffic_minutes').toArray()) {
      this.#minutes.set(row.minute, JSON.parse(row.sums));
    }
    const totals = this.#sql.exec<{ service: string; since: number; sums: string }>('SELECT service, since, sums FROM traffic_totals').toArray()[0];
    if (totals) {
      this.#totals = JSON.parse(totals.sums);
      this.#since = totals.since;
      this.#service = totals.service;
    } else {
      this.#service = fallbackName;
    }
  }

  get service(): string {
    return this.#service;
  }

  /**
   * Adds an isolate's batches not counted yet and returns the highest batch number counted for it. Batches with
   * sums of another histogram layout are refused whole (counted as acknowledged so the isolate does not resend).
   */
  merge(isolateId: string, batches: readonly TrafficBatch[], serviceName: string | undefined, now: number): number {
    const applied = this.#applied.get(isolateId)?.seq ?? 0;
    let acked = applied;
    const touched = new Set<number>();
    for (const batch of batches) {
      if (batch.seq <= applied) continue;
      acked = Math.max(acked, batch.seq);
      for (const [key, sums] of Object.entries(batch.minutes)) {
        const minute = minuteOf(Number(key));
        if (!isCompatible(sums) || !Number.isFinite(minute)) continue;
        addSums(this.#totals, sums);
        if (this.#since === 0) this.#since = now;
        // Sums older than the window still count in the totals, but no longer have a minute of their own.
        if (minute <= minuteOf(now) - MINUTES_KEPT * 60_000) continue;
        this.#minutes.set(minute, addSums(this.#minutes.get(minute) ?? emptySums(), sums));
        touched.add(minute);
      }
    }
    this.#applied.set(isolateId, { seq: acked, at: now });
    if (serviceName) this.#service = serviceName;
    if (touched.size > 0) this.#persist(touched, isolateId, now);
    for (const [id, isolate] of this.#applied) if (now - isolate.at > ISOLATE_FORGOTTEN_MS) this.#applied.delete(id);
    return acked;
  }

  /**
   * Written through on every report that changed something. An idle object is evicted without warning and its
   * alarm belongs to the health plane, so the sums held only in memory would be lost when traffic stops: exact
   * counts need the write. One row per touched minute plus the totals, in the sync's own output gate, and the
   * isolate's last counted batch with them: an object restarted after an eviction must still recognise a batch it
   * counted but whose answer was lost, or it would count it twice.
   */
  #persist(touched: ReadonlySet<number>, isolateId: string, now: number): void {
    const oldest = minuteOf(now) - MINUTES_KEPT * 60_000;
    for (const minute of this.#minutes.keys()) if (minute <= oldest) this.#minutes.delete(minute);
    for (const minute of touched) {
      const sums = this.#minutes.get(minute);
      if (sums) this.#sql.exec('INSERT OR REPLACE INTO traffic_minutes (minute, sums) VALUES (?, ?)', minute, JSON.stringify(sums));
    }
    this.#sql.exec('DELETE FROM traffic_minutes WHERE minute <= ?', oldest);
    const applied = this.#applied.get(isolateId)!;
    this.#sql.exec('INSERT OR REPLACE INTO traffic_applied (isolate, seq, at) VALUES (?, ?, ?)', isolateId, applied.seq, applied.at);
    this.#sql.exec('DELETE FROM traffic_applied WHERE at < ?', now - ISOLATE_FORGOTTEN_MS);
    this.#sql.exec(
      'INSERT OR REPLACE INTO traffic_totals (id, service, since, sums) VALUES (1, ?, ?, ?)',
      this.#service,
      this.#since,
      JSON.stringify(this.#totals),
    );
  }

  /**
   * The last `windowSeconds` of traffic, by whole minutes: every minute that overlaps the window counts, the
   * current one included (so a 60 s window reads the current and the previous minute).
   */
  windowSummary(windowSeconds: number, now: number): WindowSummary {
    const from = minuteOf(now - Math.max(0, windowSeconds) * 1000);
    const sums = emptySums();
    for (const [minute, minuteSums] of this.#minutes) if (minute >= from && minute <= now) addSums(sums, minuteSums);
    return {
      service: this.#service,
      windowSeconds,
      requests: totalRequests(sums),
      errors: errorCount(sums),
      rateLimited: rateLimitedCount(sums),
      timedRequests: timedRequestCount(sums),
      latencyP50Ms: quantileMs(sums.latency, 0.5),
      latencyP95Ms: quantileMs(sums.latency, 0.95),
      latencyP99Ms: quantileMs(sums.latency, 0.99),
    };
  }

  /** The cumulative sums and one entry per minute of the last `rangeMinutes` (the current one included). */
  series(rangeMinutes: number, now: number): TrafficSeries {
    const current = minuteOf(now);
    const range = Math.min(Math.max(1, Math.floor(rangeMinutes)), MINUTES_KEPT);
    const minutes: TrafficSeries['minutes'] = [];
    for (let at = current - (range - 1) * 60_000; at <= current; at += 60_000) {
      minutes.push({ at, sums: this.#minutes.get(at) ?? emptySums() });
    }
    return { service: this.#service, since: this.#since, totals: this.#totals, minutes };
  }
}
