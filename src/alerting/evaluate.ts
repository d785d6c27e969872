/**
 * @module Rule evaluation, free of I/O: the measured readings of a service in, one condition per applicable rule
 * out. Only measured figures count: a window with too few requests, or a figure nobody reported, fires nothing.
 */
import type { WindowSummary } from '../observability/window-summary.ts';
import type { Condition } from './lifecycle.ts';
import { compare, isTrafficMetric, type AlertRule } from './rules.ts';

/** What one service's state object knows, for the state metrics. */
export interface ServiceSignals {
  unhealthyInstances: number;
  breakerOpen: boolean;
  /** Per figure, the highest value over the instances' last health answers. */
  originFigures: Record<string, number>;
}

export interface Readings {
  service: string;
  signals: ServiceSignals | null;
  /** Summaries per window length; null: the read plane could not answer (the rule is skipped and counted). */
  windows: Map<number, WindowSummary | null>;
}

export type Skip = { rule: string; service: string; reason: 'no-summary' | 'too-few-requests' | 'no-figure' | 'no-signals' };

/** The value of `rule`'s metric in `readings`, or why there is none. */
export function measure(rule: AlertRule, readings: Readings): number | Skip['reason'] {
  if (isTrafficMetric(rule.metric)) {
    const summary = readings.windows.get(rule.windowSeconds);
    if (!summary) return 'no-summary';
    if (rule.metric === 'request_rate') return summary.requests / summary.windowSeconds;
    // Latency quantiles and the error rate stand on the timed requests only (all but the gateway's own 4xx
    // refusals): refusals of the client's making must neither make up the count that lets one slow answer fire a
    // latency rule (19 bad tokens), nor dilute an origin's failures below an error-rate rule (a flood of them).
    const rated = rule.metric === 'latency_p95_ms' || rule.metric === 'latency_p99_ms' || rule.metric === 'error_rate';
    if ((rated ? summary.timedRequests : summary.requests) < Math.max(1, rule.minRequests)) return 'too-few-requests';
    switch (rule.metric) {
      case 'error_rate':
        return summary.errors / summary.timedRequests;
      case 'rate_limited_ratio':
        return summary.rateLimited / summary.requests;
      case 'latency_p95_ms':
        return summary.latencyP95Ms ?? 'too-few-requests';
      case 'latency_p99_ms':
        return summary.latencyP99Ms ?? 'too-few-requests';
    }
  }
  if (!readings.signals) return 'no-signals';
  if (rule.metric === 'unhealthy_instances') return readings.signals.unhealthyInstances;
  if (rule.metric === 'breaker_open') return readings.signals.breakerOpen ? 1 : 0;
  const figure = readings.signals.originFigures[rule.metric.slice('origin.'.length)];
  return figure ?? 'no-figure';
}

/** The rules that apply to `service`: enabled, and either for every service or for this one. */
export function rulesFor(rules: readonly AlertRule[], service: string): AlertRule[] {
  return rules.filter((rule) => rule.enabled && (rule.service === undefined || rule.service === service));
}

/** One condition per rule with a measured value; the rest are skipped, with the reason. */
export function evaluate(rules: readonly AlertRule[], readings: Readings): { conditions: Condition[]; skipped: Skip[] } {
  const conditions: Condition[] = [];
  const skipped: Skip[] = [];
  for (const rule of rulesFor(rules, readings.service)) {
    const value = measure(rule, readings);
    if (typeof value === 'string') {
      skipped.push({ rule: rule.name, service: readings.service, reason: value });
      continue;
    }
    const breached = compare(value, rule.comparator, rule.threshold);
    conditions.push({
      rule: rule.name,
      service: readings.service,
      severity: rule.severity,
      breached,
      value,
      threshold: rule.threshold,
      message: `${readings.service}: ${rule.metric} is ${round(value)} (${rule.comparator} ${rule.threshold}${isTrafficMetric(rule.metric) ? ` over ${rule.windowSeconds} s` : ''})`,
      cooldownMs: rule.cooldownSeconds * 1000,
    });
  }
  return { conditions, skipped };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
