/**
 * @module One service's shared state: its circuit breaker, its instances' ejections, and the in-flight counts
 * and latencies every isolate reports. Isolates talk to it about once a second each, not once a request.
 */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import { CircuitBreakerMachine, newBreakerData, type BreakerEvent, type BreakerPolicy } from '../src/state/machines/breaker-machine.ts';
import { OutlierDetector, type EjectionEvent } from '../src/state/machines/outlier-ejection.ts';
import type { ServiceSnapshot, ServiceStatePolicy, ServiceStatus, StateEvent, SyncReport } from '../src/state/protocol/service-state-protocol.ts';
import { migrate } from '../src/state/infra/sqlite-migrations.ts';
import { ServiceTraffic, type TrafficSeries } from '../src/observability/service-traffic.ts';
import { DEFAULT_TRACES_KEPT, ServiceTraces, type TraceQuery } from '../src/observability/service-traces.ts';
import type { TraceRecord } from '../src/observability/trace-sampling.ts';
import type { WindowSummary } from '../src/observability/window-summary.ts';
import { HealthMonitor, type CheckRun, type ServiceHealthView } from '../src/health/health-monitor.ts';
import type { HealthPlan } from '../src/health/health-plan.ts';
import { HEALTH_MIGRATION, type HealthHistoryEntry, type HistoryFilter } from '../src/health/history.ts';

const MIGRATIONS = [
  `CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), breaker TEXT NOT NULL, ejection TEXT NOT NULL);
   CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, instance TEXT, detail TEXT NOT NULL);`,
  HEALTH_MIGRATION,
];

/** Events kept for the admin API and alerts; older ones are deleted. */
const EVENTS_KEPT = 1_000;
/** An isolate that has not reported for this long no longer counts towards in-flight totals. */
const ISOLATE_STALE_MS = 10_000;
/** Decay time of the shared latency average. */
const RTT_DECAY_MS = 10_000;

export class ServiceState extends DurableObject<Env> {
  #breaker = new CircuitBreakerMachine(newBreakerData(0));
  #outliers = new OutlierDetector({});
  /** Active health checks, run on this object's alarm (src/health/health-monitor.ts). */
  #health!: HealthMonitor;
  // Deliberately in memory only: they describe the last few seconds and are rebuilt within one sync interval.
  readonly #isolates = new Map<string, { at: number; inFlight: Record<string, number> }>();
  readonly #rtt = new Map<string, { ms: number; at: number }>();
  /** The read plane's per-minute and cumulative sums of the service's traffic (src/observability/service-traffic.ts). */
  #traffic!: ServiceTraffic;
  /** The service's recent sampled traces (src/observability/service-traces.ts). */
  #traces!: ServiceTraces;
  /** The state row as last written (or read), so a sync that changed nothing stored writes nothing. */
  #storedRow: { breaker: string; ejection: string } | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage, MIGRATIONS);
      this.#traffic = new ServiceTraffic(ctx.storage, ctx.id.name ?? '');
      this.#traces = new ServiceTraces(ctx.storage);
      const row = ctx.storage.sql.exec<{ breaker: string; ejection: string }>('SELECT breaker, ejection FROM state').toArray()[0];
      if (row) {
        this.#storedRow = row;
        this.#breaker = new CircuitBreakerMachine(JSON.parse(row.breaker));
        this.#outliers = new OutlierDetector(JSON.parse(row.ejection));
      } else {
        this.#breaker = new CircuitBreakerMachine(newBreakerData(Date.now()));
      }
      this.#health = new HealthMonitor(ctx.storage, env.HEALTH_EVENTS);
    });
  }

  /** Takes one isolate's outcomes and counts, and answers with the service's state as it now stands. */
  async sync(report: SyncReport): Promise<ServiceSnapshot> {
    const now = Date.now();
    const { policy } = report;
    const events: (BreakerEvent | EjectionEvent)[] = [];
    if (policy.breaker) events.push(...this.#breaker.record(now, policy.breaker, report.service));
    const inFlight: Record<string, number> = {};
    for (const [instance, batch] of Object.entries(report.instances)) {
      if (!policy.instances.includes(instance)) continue;
      if (batch.calls > 0) events.push(...this.#outliers.record(now, policy.ejection, policy.instances, instance, batch));
      inFlight[instance] = batch.inFlight;
      // Failed calls count too: a timing-out instance should look slow to latency-aware balancing.
      if (batch.calls > 0) this.#observeRtt(instance, batch.latencySumMs / batch.calls, now);
    }
    this.#isolates.set(report.isolateId, { at: now, inFlight });
    this.#save(events);
    const snapshot = this.#snapshot(now, policy);
    if (report.traffic) snapshot.trafficAckedSeq = this.#traffic.merge(report.isolateId, report.traffic, report.serviceName, now);
    if (report.traces) this.#traces.add(report.traces, report.tracesKept ?? DEFAULT_TRACES_KEPT);
    return snapshot;
  }

  /** The service's global traffic over the last `windowSeconds`, for alert rules. */
  async windowSummary(windowSeconds: number): Promise<WindowSummary> {
    return this.#traffic.windowSummary(windowSeconds, Date.now());
  }

  /** Recent traces of the service, newest first, for `GET /gateway/traces`. */
  async findTraces(query: TraceQuery): Promise<TraceRecord[]> {
    return this.#traces.find(query);
  }

  /** Cumulative sums and the per-minute series of the last `rangeMinutes`, for /metrics and /metrics/json. */
  async trafficSeries(rangeMinutes: number): Promise<TrafficSeries> {
    return this.#traffic.series(rangeMinutes, Date.now());
  }

  /** A probe permit while half-open. */
  async tryProbe(policy: ServiceStatePolicy & { breaker: BreakerPolicy }): Promise<{ granted: boolean; snapshot: ServiceSnapshot }> {
    const now = Date.now();
    const { granted, events } = this.#breaker.tryProbe(now, policy.breaker);
    this.#save(events);
    return { granted, snapshot: this.#snapshot(now, policy) };
  }

  async reportProbe(policy: ServiceStatePolicy & { breaker: BreakerPolicy }, success: boolean): Promise<ServiceSnapshot> {
    const now = Date.now();
    this.#save(this.#breaker.recordProbe(now, policy.breaker, success));
    return this.#snapshot(now, policy);
  }

  /** Closes the breaker and returns every ejected instance: an operator's reset. */
  async reset(policy: ServiceStatePolicy, actor: string): Promise<ServiceStatus> {
    const now = Date.now();
    const events: (BreakerEvent | EjectionEvent)[] = this.#breaker.reset(now, `reset by ${actor}`);
    for (const instance of this.#outliers.ejected(now)) events.push(...this.#outliers.healthCheckPassed(now, instance));
    for (const event of events) if ('instance' in event) event.reason = `reset by ${actor}`;
    this.#save(events);
    return this.status(policy);
  }

  /** An instance passed an active health check: it comes back from ejection at once. */
  async healthCheckPassed(policy: ServiceStatePolicy, instance: string): Promise<ServiceSnapshot> {
    const now = Date.now();
    this.#save(this.#outliers.healthCheckPassed(now, instance));
    return this.#snapshot(now, policy);
  }

  /** Stores the service's health-check plan and makes sure the alarm that runs the checks is set (cron, first requests). */
  async armHealthChecks(plan: HealthPlan): Promise<{ nextCheckAt: number }> {
    return this.#health.arm(plan, Date.now());
  }

  /** Runs the health checks and re-arms itself at the plan's interval. */
  override async alarm(): Promise<void> {
    this.#applyHealth(await this.#health.onAlarm());
  }

  /** Probes every instance now (an operator's check) and answers with the results and the new snapshot. */
  async checkHealthNow(plan: HealthPlan, policy: ServiceStatePolicy): Promise<CheckRun & { snapshot: ServiceSnapshot }> {
    const run = await this.#health.check(fetch, plan);
    this.#applyHealth(run);
    return { ...run, snapshot: this.#snapshot(Date.now(), policy) };
  }

  async healthStatus(): Promise<ServiceHealthView> {
    return this.#health.view();
  }

  async healthHistory(filter: HistoryFilter): Promise<HealthHistoryEntry[]> {
    return this.#health.history(filter);
  }

  async status(policy: ServiceStatePolicy, eventLimit = 50): Promise<ServiceStatus> {
    const now = Date.now();
    const snapshot = this.#snapshot(now, policy);
    const events = this.ctx.storage.sql
      .exec<StateEvent>('SELECT at, kind, instance, detail FROM events ORDER BY id DESC LIMIT ?', eventLimit)
      .toArray();
    return {
      breaker: policy.breaker ? { enabled: true, ...this.#breaker.view(now, policy.breaker) } : null,
      instances: policy.instances.map((id) => {
        const health = this.#outliers.data[id];
        return {
          id,
          inFlight: snapshot.inFlight[id] ?? 0,
          rttMs: snapshot.rttMs[id] ?? null,
          ejectedUntil: snapshot.ejected[id] ?? null,
          timesEjected: health?.timesEjected ?? 0,
          consecutiveFailures: health?.consecutiveFailures ?? 0,
        };
      }),
      reportingIsolates: [...this.#isolates.values()].filter((isolate) => now - isolate.at < ISOLATE_STALE_MS).length,
      events,
    };
  }

  #observeRtt(instance: string, sampleMs: number, now: number): void {
    const previous = this.#rtt.get(instance);
    if (!previous) {
      this.#rtt.set(instance, { ms: sampleMs, at: now });
      return;
    }
    // Peak EWMA, as the isolates' own estimate: slower samples count at once, faster ones gradually.
    const weight = Math.exp(-Math.max(0, now - previous.at) / RTT_DECAY_MS);
    const decayed = previous.ms * weight;
    this.#rtt.set(instance, { ms: sampleMs > decayed ? sampleMs : decayed * weight + sampleMs * (1 - weight), at: now });
  }

  #snapshot(now: number, policy: ServiceStatePolicy): ServiceSnapshot {
    const events = this.#outliers.advance(now, policy.ejection, policy.instances);
    if (policy.breaker) events.push(...(this.#breaker.advance(now) as never[]));
    if (events.length > 0) this.#save(events);
    const inFlight: Record<string, number> = {};
    for (const [id, isolate] of this.#isolates) {
      if (now - isolate.at >= ISOLATE_STALE_MS) {
        this.#isolates.delete(id);
        continue;
      }
      for (const [instance, count] of Object.entries(isolate.inFlight)) inFlight[instance] = (inFlight[instance] ?? 0) + count;
    }
    const ejected: Record<string, number> = {};
    for (const instance of this.#outliers.ejected(now)) ejected[instance] = this.#outliers.data[instance]!.ejectedUntil;
    const rttMs: Record<string, number> = {};
    for (const [instance, rtt] of this.#rtt) rttMs[instance] = rtt.ms;
    const { state, openUntil } = this.#breaker.data;
    const unhealthy = this.#health.unhealthy().filter((instance) => policy.instances.includes(instance));
    return { at: now, breaker: { state, openUntil }, ejected, inFlight, rttMs, unhealthy };
  }

  /** A passing active check ends an outlier ejection early (Envoy's rule). */
  #applyHealth(run: CheckRun | null): void {
    if (!run) return;
    const now = Date.now();
    const events: EjectionEvent[] = [];
    for (const result of run.results) if (result.ok) events.push(...this.#outliers.healthCheckPassed(now, result.instance));
    if (events.length > 0) this.#save(events);
  }

  /**
   * Persists breaker and ejection state when they differ from the stored row (most syncs only carry in-flight
   * counts, which live in memory), and records their transitions as events.
   */
  #save(events: (BreakerEvent | EjectionEvent)[]): void {
    const sql = this.ctx.storage.sql;
    const row = { breaker: JSON.stringify(this.#breaker.data), ejection: JSON.stringify(this.#outliers.data) };
    const changed = row.breaker !== this.#storedRow?.breaker || row.ejection !== this.#storedRow?.ejection;
    if (!changed && events.length === 0) return;
    this.ctx.storage.transactionSync(() => {
      if (changed) {
        sql.exec(
          'INSERT INTO state (id, breaker, ejection) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET breaker = excluded.breaker, ejection = excluded.ejection',
          row.breaker,
          row.ejection,
        );
      }
      for (const event of events) {
        const [kind, instance, detail] =
          'instance' in event ? [event.kind, event.instance, event.reason] : [`breaker-${event.to === 'open' ? 'opened' : event.to}`, null, event.reason];
        sql.exec('INSERT INTO events (at, kind, instance, detail) VALUES (?, ?, ?, ?)', event.at, kind, instance, detail);
      }
      if (events.length > 0) sql.exec('DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?', EVENTS_KEPT);
    });
    this.#storedRow = row;
  }
}
