/**
 * @module The health state machine of one instance under active checks, free of I/O: unknown until the first
 * verdict, unhealthy after `unhealthyThreshold` failures in a row, healthy again after `healthyThreshold` passes.
 */
import type { ProbeResult } from './probe.ts';

export type InstanceHealthStatus = 'healthy' | 'unhealthy' | 'unknown';

export interface InstanceHealthRecord {
  status: InstanceHealthStatus;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastCheckAt: number | null;
  latencyMs: number | null;
  /** The last probe's figures (cpu, memory, ...); kept from the last answer that had any. */
  figures: Record<string, number>;
  /** When the status last changed. */
  since: number | null;
}

export interface HealthTransition {
  at: number;
  instance: string;
  from: InstanceHealthStatus;
  to: InstanceHealthStatus;
  reason: string;
}

export interface Thresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export function newInstanceHealth(): InstanceHealthRecord {
  return { status: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0, lastCheckAt: null, latencyMs: null, figures: {}, since: null };
}

/**
 * Applies one probe result to `record` (in place) and returns the transition it caused, if any.
 * An unknown instance is healthy at its first pass (it was in rotation already; one pass confirms it), and
 * unhealthy only after the full failure threshold, like any other.
 *
 * @example applyProbe(record, { ok: false, ... }, { healthyThreshold: 2, unhealthyThreshold: 3 })
 */
export function applyProbe(record: InstanceHealthRecord, result: ProbeResult, thresholds: Thresholds): HealthTransition | null {
  record.lastCheckAt = result.at;
  record.latencyMs = result.status === null ? null : result.latencyMs;
  if (Object.keys(result.figures).length > 0) record.figures = result.figures;
  const from = record.status;
  if (result.ok) {
    record.consecutiveSuccesses += 1;
    record.consecutiveFailures = 0;
    const needed = from === 'unknown' ? 1 : thresholds.healthyThreshold;
    if (from !== 'healthy' && record.consecutiveSuccesses >= needed) {
      return transition(record, result, 'healthy', `${record.consecutiveSuccesses} passing check${record.consecutiveSuccesses === 1 ? '' : 's'} in a row`);
    }
  } else {
    record.consecutiveFailures += 1;
    record.consecutiveSuccesses = 0;
    if (from !== 'unhealthy' && record.consecutiveFailures >= thresholds.unhealthyThreshold) {
      return transition(record, result, 'unhealthy', `${record.consecutiveFailures} failing checks in a row (last: ${result.error ?? 'failed'})`);
    }
  }
  return null;
}

function transition(record: InstanceHealthRecord, result: ProbeResult, to: InstanceHealthStatus, reason: string): HealthTransition {
  const from = record.status;
  record.status = to;
  record.since = result.at;
  return { at: result.at, instance: result.instance, from, to, reason };
}
