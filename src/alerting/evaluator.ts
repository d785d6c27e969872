/**
 * @module Alert evaluation on the schedule: the effective rules (configuration, defaults, admin API) against each
 * service's measured readings; the alert store decides the lifecycle; fired and resolved alerts are enqueued
 * for delivery, one message per channel.
 */
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { configSource } from '../control-plane/config-source.ts';
import type { Env } from '../env.ts';
import type { Channel } from './channel-config.ts';
import { evaluate, rulesFor, type Readings, type Skip } from './evaluate.ts';
import type { Condition, Transition } from './lifecycle.ts';
import { durableObjectReader, type MetricsReader } from './metrics-reader.ts';
import { notificationFor, type Notification } from './notification.ts';
import { DEFAULT_RULES, isTrafficMetric, severityRank, type AlertRule } from './rules.ts';

/** The single alert store object's name. */
export const ALERTS_NAME = 'alerts';

/** What the evaluator needs of the alert store (the AlertManager object, or the object itself in its alarm). */
export interface AlertStore {
  evaluate(conditions: Condition[], now?: number): Promise<Transition[]>;
  rules(): Promise<AlertRule[]>;
  channels(): Promise<Channel[]>;
}

/** The rules in force: the defaults (unless turned off), then the configuration's, then the admin API's, later ones replacing earlier ones of the same name. */
export function effectiveRules(config: GatewayConfig, stored: readonly AlertRule[]): AlertRule[] {
  const byName = new Map<string, AlertRule>();
  for (const rule of [...(config.gateway.alerting.defaultRules ? DEFAULT_RULES : []), ...config.gateway.alerting.rules, ...stored]) byName.set(rule.name, rule);
  return [...byName.values()];
}

export function effectiveChannels(config: GatewayConfig, stored: readonly Channel[]): Channel[] {
  const byName = new Map<string, Channel>();
  for (const channel of [...config.gateway.alerting.channels, ...stored]) byName.set(channel.name, channel);
  return [...byName.values()];
}

/** The notifications a transition sends: one per channel of its rule that takes its severity. */
export function notificationsOf(transition: Transition, rules: readonly AlertRule[], channels: readonly Channel[]): Notification[] {
  if (transition.kind === 'suppressed') return [];
  const rule = rules.find((entry) => entry.name === transition.alert.rule);
  if (!rule) return [];
  return rule.channels
    .map((name) => channels.find((channel) => channel.name === name))
    .filter((channel): channel is Channel => channel !== undefined)
    .filter((channel) => channel.minSeverity === undefined || severityRank(transition.alert.severity) <= severityRank(channel.minSeverity))
    .map((channel) => notificationFor(transition.alert, transition.kind, channel.name));
}

export interface EvaluationResult {
  conditions: Condition[];
  transitions: Transition[];
  skipped: Skip[];
  enqueued: number;
}

/** One evaluation over every service. */
export async function evaluateAll(
  runtime: GatewayRuntime,
  store: AlertStore,
  reader: MetricsReader,
  enqueue: (notifications: Notification[]) => Promise<void>,
  now = Date.now(),
): Promise<EvaluationResult> {
  const { config } = runtime;
  const [storedRules, storedChannels] = await Promise.all([store.rules(), store.channels()]);
  const rules = effectiveRules(config, storedRules);
  const channels = effectiveChannels(config, storedChannels);
  const perService = await Promise.all(
    [...runtime.pools.values()].map(async (pool) => {
      const applicable = rulesFor(rules, pool.service.name);
      if (applicable.length === 0) return { conditions: [], skipped: [] };
      const windowLengths = [...new Set(applicable.filter((rule) => isTrafficMetric(rule.metric)).map((rule) => rule.windowSeconds))];
      const needsSignals = applicable.some((rule) => !isTrafficMetric(rule.metric));
      const [signals, ...summaries] = await Promise.all([
        needsSignals ? reader.signals(pool) : Promise.resolve(null),
        ...windowLengths.map((seconds) => reader.windowSummary(pool.service.name, seconds)),
      ]);
      const readings: Readings = { service: pool.service.name, signals, windows: new Map(windowLengths.map((seconds, i) => [seconds, summaries[i] ?? null])) };
      return evaluate(applicable, readings);
    }),
  );
  const conditions = perService.flatMap((entry) => entry.conditions);
  const skipped = perService.flatMap((entry) => entry.skipped);
  const transitions = await store.evaluate(conditions, now);
  const notifications = transitions.flatMap((transition) => notificationsOf(transition, rules, channels));
  if (notifications.length > 0) await enqueue(notifications);
  for (const transition of transitions) {
    if (transition.kind !== 'suppressed') console.log(JSON.stringify({ level: transition.kind === 'fired' ? 'warn' : 'info', event: `alert-${transition.kind}`, alert: transition.alert }));
  }
  return { conditions, transitions, skipped, enqueued: notifications.length };
}

/** Sends notifications to the delivery queue. */
export function queueSender(env: Env): (notifications: Notification[]) => Promise<void> {
  return async (notifications) => {
    await env.ALERT_NOTIFICATIONS.sendBatch(notifications.map((body) => ({ body, contentType: 'json' as const })));
  };
}

/**
 * The alarm's evaluation, inside the AlertManager object (`store` is the object itself); `enqueue` is the object's
 * outbox, which keeps each notification until the queue has taken it.
 */
export async function evaluateOnSchedule(
  env: Env,
  store: AlertStore,
  waitUntil: (promise: Promise<unknown>) => void,
  enqueue: (notifications: Notification[]) => Promise<void> = queueSender(env),
): Promise<EvaluationResult> {
  const current = configSource(env).current(env, waitUntil);
  const runtime = current instanceof Promise ? await current : current;
  return evaluateAll(runtime, store, durableObjectReader(env, runtime.config.gateway.statePlane.callTimeoutMs), enqueue);
}

/** Makes sure the evaluation alarm is set (cron, first requests). */
export async function armAlertEvaluation(env: Env, runtime: GatewayRuntime): Promise<void> {
  try {
    await env.ALERTS.getByName(ALERTS_NAME).armEvaluation(runtime.config.gateway.alerting.evaluationIntervalSeconds * 1000);
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', event: 'alert-evaluation-arm-failed', error: String((error as Error)?.message ?? error) }));
  }
}
