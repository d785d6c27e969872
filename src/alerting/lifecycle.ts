/**
 * @module The alert lifecycle, free of I/O: one open alert per rule and service while the condition holds
 * (active → acknowledged), resolved when it clears or by hand, and a cooldown after resolution against flapping.
 */
import type { Severity } from './rules.ts';

export type AlertStatus = 'active' | 'acknowledged' | 'resolved';

/** What `GET /alerts/statistics` answers (AlertManager.statistics), and what the CLI's `alerts stats` prints. */
export type AlertStatistics = {
  total: number;
  bySeverity: Record<string, number>;
  byStatus: Record<string, number>;
  byRule: Record<string, number>;
  suppressed: number;
  meanTimeToAcknowledgeMs: number | null;
  meanTimeToResolveMs: number | null;
  deliveries: { ok: number; failed: number; deadLettered: number };
};

// A type alias, not an interface: alerts are stored as plain records and cross RPC.
export type Alert = {
  id: string;
  rule: string;
  service: string;
  severity: Severity;
  status: AlertStatus;
  value: number;
  threshold: number;
  message: string;
  firedAt: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  resolvedAt?: number;
  resolvedBy?: string;
};

/** What a rule measured for a service in one evaluation. */
export interface Condition {
  rule: string;
  service: string;
  severity: Severity;
  breached: boolean;
  value: number;
  threshold: number;
  message: string;
  cooldownMs: number;
}

export type Transition = { kind: 'fired'; alert: Alert } | { kind: 'resolved'; alert: Alert } | { kind: 'suppressed'; rule: string; service: string; until: number };

/**
 * Decides what one condition does, given the open alert for its rule and service (if any) and when the last
 * one of them resolved. Returns the transition and the alert as it now stands (open alerts take the new value).
 */
export function step(
  condition: Condition,
  open: Alert | undefined,
  lastResolvedAt: number | undefined,
  now: number,
  newId: () => string,
): { transition?: Transition; alert?: Alert } {
  if (open) {
    if (!condition.breached) {
      const resolved: Alert = { ...open, status: 'resolved', resolvedAt: now, resolvedBy: 'auto', value: condition.value };
      return { transition: { kind: 'resolved', alert: resolved }, alert: resolved };
    }
    // Deduplicated: the same alert carries on with the latest value.
    return { alert: { ...open, value: condition.value } };
  }
  if (!condition.breached) return {};
  if (lastResolvedAt !== undefined && now < lastResolvedAt + condition.cooldownMs) {
    return { transition: { kind: 'suppressed', rule: condition.rule, service: condition.service, until: lastResolvedAt + condition.cooldownMs } };
  }
  const alert: Alert = {
    id: newId(),
    rule: condition.rule,
    service: condition.service,
    severity: condition.severity,
    status: 'active',
    value: condition.value,
    threshold: condition.threshold,
    message: condition.message,
    firedAt: now,
  };
  return { transition: { kind: 'fired', alert }, alert };
}

/** An operator acknowledges an active alert; anything else is a conflict. */
export function acknowledge(alert: Alert, by: string, now: number): Alert | 'conflict' {
  if (alert.status !== 'active') return 'conflict';
  return { ...alert, status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by };
}

/** An operator resolves an open alert by hand. */
export function resolveByHand(alert: Alert, by: string, now: number): Alert | 'conflict' {
  if (alert.status === 'resolved') return 'conflict';
  return { ...alert, status: 'resolved', resolvedAt: now, resolvedBy: by };
}
