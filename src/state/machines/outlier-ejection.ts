/**
 * @module Outlier ejection per instance (Envoy semantics): an instance that keeps failing is taken out of rotation
 * for a while, longer each time, never more than a set share of the service's instances at once.
 */
import type { OutcomeBatch } from './breaker-machine.ts';

export interface EjectionPolicy {
  /** Eject after this many consecutive failures (5xx, connect failures, timeouts). */
  consecutiveFailures: number;
  /** Ejection time = this × the number of times the instance has been ejected... */
  baseEjectionMs: number;
  /** ...capped here. */
  maxEjectionMs: number;
  /** Never eject more than this share (0–100) of the instances at once. */
  maxEjectionPercent: number;
}

export interface InstanceHealth {
  consecutiveFailures: number;
  ejectedUntil: number;
  timesEjected: number;
  /** When the instance last came back; a long healthy stretch forgives earlier ejections. */
  returnedAt: number;
}

export interface EjectionEvent {
  at: number;
  instance: string;
  kind: 'instance-ejected' | 'instance-returned';
  reason: string;
}

export type EjectionData = Record<string, InstanceHealth>;

export class OutlierDetector {
  readonly data: EjectionData;

  constructor(data: EjectionData) {
    this.data = data;
  }

  #health(instance: string): InstanceHealth {
    return (this.data[instance] ??= { consecutiveFailures: 0, ejectedUntil: 0, timesEjected: 0, returnedAt: 0 });
  }

  /** Returns instances whose ejection is over; forgets instances no longer configured. */
  advance(now: number, policy: EjectionPolicy, instances: readonly string[]): EjectionEvent[] {
    const events: EjectionEvent[] = [];
    for (const id of Object.keys(this.data)) if (!instances.includes(id)) delete this.data[id];
    for (const [instance, health] of Object.entries(this.data)) {
      if (health.ejectedUntil !== 0 && health.ejectedUntil <= now) {
        health.ejectedUntil = 0;
        health.returnedAt = now;
        events.push({ at: now, instance, kind: 'instance-returned', reason: 'ejection time over' });
      }
      if (health.timesEjected > 0 && health.ejectedUntil === 0 && now - health.returnedAt >= policy.maxEjectionMs) {
        health.timesEjected = 0;
      }
    }
    return events;
  }

  /** Counts one instance's batch of outcomes; may eject it. */
  record(now: number, policy: EjectionPolicy, instances: readonly string[], instance: string, batch: OutcomeBatch): EjectionEvent[] {
    const events = this.advance(now, policy, instances);
    const health = this.#health(instance);
    health.consecutiveFailures = batch.hadSuccess ? batch.trailingFailures : health.consecutiveFailures + batch.failures;
    if (health.ejectedUntil !== 0 || health.consecutiveFailures < policy.consecutiveFailures) return events;
    // Envoy's rule, with at least one instance ejectable when there are two or more: a lone instance stays.
    const ejectable = instances.length < 2 ? 0 : Math.max(1, Math.floor((instances.length * policy.maxEjectionPercent) / 100));
    if (this.ejected(now).length >= ejectable) return events;
    health.timesEjected += 1;
    const duration = Math.min(policy.baseEjectionMs * health.timesEjected, policy.maxEjectionMs);
    health.ejectedUntil = now + duration;
    events.push({
      at: now,
      instance,
      kind: 'instance-ejected',
      reason: `${health.consecutiveFailures} consecutive failures; ejected for ${Math.round(duration / 1000)} s (ejection ${health.timesEjected})`,
    });
    health.consecutiveFailures = 0;
    return events;
  }

  /** An instance that passed an active health check comes back at once. */
  healthCheckPassed(now: number, instance: string): EjectionEvent[] {
    const health = this.data[instance];
    if (!health || health.ejectedUntil === 0) return [];
    health.ejectedUntil = 0;
    health.returnedAt = now;
    health.consecutiveFailures = 0;
    return [{ at: now, instance, kind: 'instance-returned', reason: 'passed a health check' }];
  }

  ejected(now: number): string[] {
    return Object.entries(this.data)
      .filter(([, health]) => health.ejectedUntil > now)
      .map(([instance]) => instance);
  }
}
