/** @module Alert rules: what they look like, the metrics they may read, the defaults, and the comparison. */
import * as z from 'zod';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const COMPARATORS = ['>', '>=', '<', '<=', '=='] as const;
export type Comparator = (typeof COMPARATORS)[number];

/** Metrics read from the read plane's window summaries (traffic). */
export const TRAFFIC_METRICS = ['error_rate', 'latency_p95_ms', 'latency_p99_ms', 'request_rate', 'rate_limited_ratio'] as const;
/** Metrics read from the service's state object (active checks, breaker). */
export const STATE_METRICS = ['unhealthy_instances', 'breaker_open'] as const;

const Metric = z
  .string()
  .regex(
    new RegExp(`^(${[...TRAFFIC_METRICS, ...STATE_METRICS].join('|')}|origin\\.[a-z][a-z0-9_]{0,31})$`),
    `expected one of ${[...TRAFFIC_METRICS, ...STATE_METRICS].join(', ')} or origin.<figure> (such as origin.cpu)`,
  );
const Name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected lower-case letters, digits and "-", starting with a letter');

export const AlertRuleSchema = z
  .object({
    name: Name.describe('Unique name of the rule.'),
    metric: Metric.describe('What the rule reads: error_rate (0–1), latency_p95_ms, latency_p99_ms, request_rate (per second), rate_limited_ratio (0–1), unhealthy_instances, breaker_open (0/1), or origin.<figure> (the highest value over the instances, from their health answers).'),
    comparator: z.enum(COMPARATORS).default('>').describe('How the measured value is compared with the threshold.'),
    threshold: z.number().finite().describe('The value the metric is compared with.'),
    windowSeconds: z.number().int().min(60).max(3_600).default(300).describe('The traffic window the metric is measured over (traffic metrics only).'),
    minRequests: z.number().int().min(0).max(1_000_000).default(20).describe('A window with fewer requests does not fire error_rate, latency or rate_limited_ratio rules.'),
    severity: z.enum(SEVERITIES).default('high').describe('Severity of the alerts the rule fires.'),
    cooldownSeconds: z.number().int().min(0).max(86_400).default(300).describe('After an alert of this rule and service resolves, a new one is not fired for this long.'),
    channels: z.array(Name).max(10).default([]).describe('Names of the notification channels the alerts go to.'),
    service: Name.optional().describe('The service the rule watches; every service when absent.'),
    enabled: z.boolean().default(true).describe('Whether the rule is evaluated.'),
  })
  .strict();
export type AlertRuleInput = z.input<typeof AlertRuleSchema>;
export type AlertRule = z.output<typeof AlertRuleSchema>;

/** BharatVoice's defaults (error rate > 5 %, p95 > 2 s, origin CPU > 80 %, memory > 90 %), plus unhealthy instances and an open breaker. */
export const DEFAULT_RULES: AlertRule[] = [
  { name: 'high-error-rate', metric: 'error_rate', threshold: 0.05, severity: 'high' },
  { name: 'slow-responses', metric: 'latency_p95_ms', threshold: 2_000, severity: 'medium' },
  { name: 'origin-cpu-high', metric: 'origin.cpu', threshold: 80, severity: 'medium' },
  { name: 'origin-memory-high', metric: 'origin.memory', threshold: 90, severity: 'high' },
  { name: 'instance-unhealthy', metric: 'unhealthy_instances', threshold: 0, severity: 'high' },
  { name: 'breaker-open', metric: 'breaker_open', threshold: 0, severity: 'critical' },
].map((rule) => AlertRuleSchema.parse(rule));

export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
  }
}

export function isTrafficMetric(metric: string): metric is (typeof TRAFFIC_METRICS)[number] {
  return (TRAFFIC_METRICS as readonly string[]).includes(metric);
}

/** Severity rank, 0 for critical: a channel with `minSeverity` takes alerts of that rank or lower. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}
