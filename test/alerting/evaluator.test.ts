import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { evaluateAll } from '../../src/alerting/evaluator.ts';
import type { ServiceSignals } from '../../src/alerting/evaluate.ts';
import type { MetricsReader } from '../../src/alerting/metrics-reader.ts';
import type { Notification } from '../../src/alerting/notification.ts';
import { GatewayRuntime } from '../../src/runtime/gateway-runtime.ts';
import { parseGatewayConfig } from '../../src/config/load.ts';
import type { WindowSummary } from '../../src/observability/window-summary.ts';

const runtime = new GatewayRuntime(
  parseGatewayConfig({
    gateway: {
      alerting: {
        channels: [{ name: 'ops', type: 'log' }, { name: 'pager', type: 'log', minSeverity: 'critical' }],
        rules: [
          { name: 'high-error-rate', metric: 'error_rate', threshold: 0.05, severity: 'high', channels: ['ops', 'pager'], cooldownSeconds: 0 },
          { name: 'breaker-open', metric: 'breaker_open', threshold: 0, severity: 'critical', channels: ['ops', 'pager'] },
        ],
      },
    },
    services: [{ name: 'eval-svc', routes: [{ pathPrefix: '/eval' }], instances: [{ url: 'https://origin.example' }] }],
  }),
);

/** A reader that answers what the test sets: the evaluator's only view of the world. */
function reader(state: { summary: WindowSummary | null; signals: ServiceSignals | null }): MetricsReader {
  return { windowSummary: async () => state.summary, signals: async () => state.signals };
}
const summary = (requests: number, errors: number): WindowSummary => ({ service: 'eval-svc', windowSeconds: 300, requests, errors, rateLimited: 0, timedRequests: requests, latencyP50Ms: 10, latencyP95Ms: 20, latencyP99Ms: 30 });

describe('evaluation on the schedule', () => {
  it('fires, notifies the channels that take the severity, stays quiet while it holds, and resolves when it clears', async () => {
    const store = env.ALERTS.getByName('evaluator-test');
    const sent: Notification[] = [];
    const enqueue = async (notifications: Notification[]) => void sent.push(...notifications);
    const state = { summary: summary(100, 10), signals: { unhealthyInstances: 0, breakerOpen: false, originFigures: {} } as ServiceSignals | null };

    const first = await evaluateAll(runtime, store, reader(state), enqueue);
    expect(first.transitions.map((transition) => transition.kind)).toEqual(['fired']);
    // "pager" takes critical alerts only.
    expect(sent.map((notification) => `${notification.channel} ${notification.kind} ${notification.alert.rule}`)).toEqual(['ops fired high-error-rate']);
    expect(sent[0]!.idempotencyKey).toBe(`${sent[0]!.alert.id}:fired`);

    expect((await evaluateAll(runtime, store, reader(state), enqueue)).transitions).toEqual([]);

    state.summary = summary(100, 1);
    state.signals = { unhealthyInstances: 0, breakerOpen: true, originFigures: {} };
    const third = await evaluateAll(runtime, store, reader(state), enqueue);
    expect(third.transitions.map((transition) => `${transition.kind} ${'alert' in transition ? transition.alert.rule : ''}`).sort()).toEqual(['fired breaker-open', 'resolved high-error-rate']);
    expect(sent.slice(1).map((notification) => `${notification.channel} ${notification.kind}`).sort()).toEqual(['ops fired', 'ops resolved', 'pager fired']);
  });

  it('skips traffic rules, and counts it, when the read plane cannot answer', async () => {
    const result = await evaluateAll(runtime, env.ALERTS.getByName('evaluator-skip'), reader({ summary: null, signals: null }), async () => {});
    expect(result.conditions).toEqual([]);
    expect(result.skipped.map((skip) => `${skip.rule}:${skip.reason}`)).toContain('high-error-rate:no-summary');
    expect(result.skipped.map((skip) => `${skip.rule}:${skip.reason}`)).toContain('breaker-open:no-signals');
  });
});
