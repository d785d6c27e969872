/**
 * @module Active health checks as one service's state object runs them on its alarm: the stored plan, each
 * instance's health record, the probes, and the history. The object only delegates here (durable-objects/service-state.ts).
 */
import type { HealthPlan } from './health-plan.ts';
import { applyProbe, newInstanceHealth, type HealthTransition, type InstanceHealthRecord, type InstanceHealthStatus } from './instance-health.ts';
import { pruneHistory, readHistory, recordProbe, recordTransition, type HealthHistoryEntry, type HistoryFilter } from './history.ts';
import { probeInstance, type ProbeResult } from './probe.ts';
import { recordProbeOutcome } from './probe-analytics.ts';

/** The shortest interval between checks, whatever the plan says (the configuration's minimum too). */
export const MIN_INTERVAL_MS = 5_000;

export interface InstanceHealthView {
  id: string;
  url: string;
  status: InstanceHealthStatus;
  lastCheckAt: number | null;
  latencyMs: number | null;
  consecutiveFailures: number;
  figures: Record<string, number>;
}

export interface ServiceHealthView {
  service: string;
  /** False until a plan reached the object (cron, first request or an operator's check). */
  planned: boolean;
  intervalMs: number | null;
  nextCheckAt: number | null;
  instances: InstanceHealthView[];
}

export interface CheckRun {
  results: ProbeResult[];
  transitions: HealthTransition[];
}

export class HealthMonitor {
  readonly #storage: DurableObjectStorage;
  readonly #analytics: AnalyticsEngineDataset | undefined;
  #plan: HealthPlan | null = null;
  readonly #records = new Map<string, InstanceHealthRecord>();
  /** A run under way: an operator's check during the alarm's run waits for it rather than probing twice. */
  #running: Promise<CheckRun> | undefined;

  /** Loads the stored plan and records; call it in the object's constructor, after the migrations. */
  constructor(storage: DurableObjectStorage, analytics?: AnalyticsEngineDataset) {
    this.#storage = storage;
    this.#analytics = analytics;
    const plan = storage.sql.exec<{ plan: string }>('SELECT plan FROM health_plan').toArray()[0];
    if (plan) this.#plan = JSON.parse(plan.plan) as HealthPlan;
    for (const row of storage.sql.exec<{ instance: string; record: string }>('SELECT instance, record FROM health_instances')) {
      this.#records.set(row.instance, JSON.parse(row.record) as InstanceHealthRecord);
    }
  }

  get plan(): HealthPlan | null {
    return this.#plan;
  }

  /**
   * Stores `plan` and makes sure the alarm is set: at once when there is none (a first arming, or a lost alarm),
   * sooner when the interval got shorter. Idempotent, so the cron and every isolate's first request may call it.
   */
  async arm(plan: HealthPlan, now: number): Promise<{ nextCheckAt: number }> {
    this.#adopt(plan, now);
    const alarm = await this.#storage.getAlarm();
    const interval = intervalOf(plan);
    if (alarm === null || alarm > now + interval) {
      await this.#storage.setAlarm(now);
      return { nextCheckAt: now };
    }
    return { nextCheckAt: alarm };
  }

  /** The alarm: re-arms first (so a failing run cannot lose the schedule), then probes. */
  async onAlarm(fetcher: typeof fetch = fetch): Promise<CheckRun | null> {
    const plan = this.#plan;
    if (!plan) return null;
    await this.#storage.setAlarm(Date.now() + intervalOf(plan));
    if (!plan.enabled) return null;
    return this.check(fetcher);
  }

  /** Probes every instance now (with `plan` first stored, when given) and applies the results. */
  check(fetcher: typeof fetch = fetch, plan?: HealthPlan): Promise<CheckRun> {
    if (plan) this.#adopt(plan, Date.now());
    if (!this.#running) this.#running = this.#run(fetcher).finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Instances out of rotation because their checks fail. */
  unhealthy(): string[] {
    return [...this.#records].filter(([, record]) => record.status === 'unhealthy').map(([id]) => id);
  }

  record(instance: string): InstanceHealthRecord | undefined {
    return this.#records.get(instance);
  }

  async view(): Promise<ServiceHealthView> {
    const plan = this.#plan;
    return {
      service: plan?.service ?? '',
      planned: plan !== null,
      intervalMs: plan ? intervalOf(plan) : null,
      nextCheckAt: await this.#storage.getAlarm(),
      instances: (plan?.instances ?? []).map(({ id, url }) => {
        const record = this.#records.get(id) ?? newInstanceHealth();
        return { id, url, status: record.status, lastCheckAt: record.lastCheckAt, latencyMs: record.latencyMs, consecutiveFailures: record.consecutiveFailures, figures: record.figures };
      }),
    };
  }

  history(filter: HistoryFilter): HealthHistoryEntry[] {
    return readHistory(this.#storage.sql, filter);
  }

  async #run(fetcher: typeof fetch): Promise<CheckRun> {
    const plan = this.#plan;
    if (!plan) return { results: [], transitions: [] };
    // One object per service probes only its own instances: a few connections, under the six-at-once limit
    // per invocation for typical services (more simply wait their turn).
    const results = await Promise.all(plan.instances.map((instance) => probeInstance(instance, plan, fetcher)));
    const transitions: HealthTransition[] = [];
    const sql = this.#storage.sql;
    // The plan may have changed while the probes ran: results of instances it no longer has are dropped.
    const current = this.#plan ?? plan;
    this.#storage.transactionSync(() => {
      for (const result of results) {
        if (!current.instances.some((instance) => instance.id === result.instance)) continue;
        let record = this.#records.get(result.instance);
        if (!record) this.#records.set(result.instance, (record = newInstanceHealth()));
        const transition = applyProbe(record, result, current);
        recordProbe(sql, result);
        recordProbeOutcome(this.#analytics, current.service, result);
        if (transition) {
          transitions.push(transition);
          recordTransition(sql, transition);
        }
        sql.exec('INSERT INTO health_instances (instance, record) VALUES (?, ?) ON CONFLICT (instance) DO UPDATE SET record = excluded.record', result.instance, JSON.stringify(record));
      }
      pruneHistory(sql, Date.now(), current.history);
    });
    for (const transition of transitions) {
      console.log(JSON.stringify({ level: transition.to === 'unhealthy' ? 'warn' : 'info', event: 'instance-health', service: current.service, ...transition }));
    }
    return { results, transitions };
  }

  #adopt(plan: HealthPlan, now: number): void {
    const sql = this.#storage.sql;
    this.#storage.transactionSync(() => {
      sql.exec('INSERT INTO health_plan (id, plan, armed_at) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET plan = excluded.plan, armed_at = excluded.armed_at', JSON.stringify(plan), now);
      // Instances no longer configured are forgotten: a re-added instance starts from unknown.
      for (const id of [...this.#records.keys()]) {
        if (plan.instances.some((instance) => instance.id === id)) continue;
        this.#records.delete(id);
        sql.exec('DELETE FROM health_instances WHERE instance = ?', id);
      }
    });
    this.#plan = plan;
  }
}

function intervalOf(plan: HealthPlan): number {
  return Math.max(MIN_INTERVAL_MS, plan.intervalMs);
}
