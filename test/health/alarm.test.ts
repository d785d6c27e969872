import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import type { HealthPlan } from '../../src/health/health-plan.ts';
import worker from '../../src/index.ts';

const scripted = inject('scriptedOrigin');
const [echo] = inject('echoOrigins');

function planFor(service: string, instances: { id: string; url: string }[], overrides: Partial<HealthPlan> = {}): HealthPlan {
  return {
    service,
    enabled: true,
    intervalMs: 30_000,
    timeoutMs: 1_000,
    path: '/api/v1/health',
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    expectedBody: null,
    figures: ['cpu', 'memory', 'disk'],
    instances,
    history: { maxEntries: 1_000, maxAgeMs: 86_400_000 },
    ...overrides,
  };
}

async function setHealth(path: string, status: number): Promise<void> {
  await fetch(`${scripted}/__set?path=${encodeURIComponent(`${path}/api/v1/health`)}&status=${status}&body=${encodeURIComponent(JSON.stringify({ status, cpu: 91 }))}`);
}

const policy = (instances: string[]) => ({ ejection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 }, instances });

describe('health checks on the service object alarm', () => {
  it('arms the alarm at once, runs the checks on it and re-arms at the interval', async () => {
    const stub = env.SERVICE_STATE.getByName('alarm-rearm');
    const before = Date.now();
    const { nextCheckAt } = await stub.armHealthChecks(planFor('alarm-rearm', [{ id: 'e', url: echo! }], { intervalMs: 7_000 }));
    expect(nextCheckAt).toBeGreaterThanOrEqual(before);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const view = await stub.healthStatus();
    expect(view.instances[0]).toMatchObject({ id: 'e', status: 'healthy', consecutiveFailures: 0 });
    expect(view.instances[0]!.lastCheckAt).toBeGreaterThanOrEqual(before);
    // Re-armed by the alarm itself, one interval on.
    expect(view.nextCheckAt! - view.instances[0]!.lastCheckAt!).toBeGreaterThanOrEqual(6_900);
    // Arming again does not pull a set alarm forward: the cron and every isolate may call it.
    expect((await stub.armHealthChecks(planFor('alarm-rearm', [{ id: 'e', url: echo! }], { intervalMs: 7_000 }))).nextCheckAt).toBe(view.nextCheckAt);
  });

  it('takes a failing instance out of every isolate\u2019s snapshot after N failed checks and back after M passes', async () => {
    const stub = env.SERVICE_STATE.getByName('alarm-rotation');
    await setHealth('/rotation-a', 200);
    const instances = [{ id: 'a', url: `${scripted}/rotation-a` }, { id: 'b', url: echo! }];
    await stub.armHealthChecks(planFor('alarm-rotation', instances));
    await runDurableObjectAlarm(stub);
    await setHealth('/rotation-a', 503);
    for (let i = 0; i < 2; i++) await runDurableObjectAlarm(stub);
    const sync = () => stub.sync({ isolateId: 'i', policy: policy(['a', 'b']), service: { calls: 0, failures: 0, trailingFailures: 0, hadSuccess: false }, instances: {} });
    expect((await sync()).unhealthy).toEqual([]);
    await runDurableObjectAlarm(stub);
    expect((await sync()).unhealthy).toEqual(['a']);
    expect((await stub.healthStatus()).instances[0]).toMatchObject({ status: 'unhealthy', consecutiveFailures: 3, figures: { cpu: 91 } });

    await setHealth('/rotation-a', 200);
    await runDurableObjectAlarm(stub);
    expect((await sync()).unhealthy).toEqual(['a']);
    await runDurableObjectAlarm(stub);
    expect((await sync()).unhealthy).toEqual([]);
    const transitions = (await stub.healthHistory({ instance: 'a', limit: 100 })).filter((entry) => entry.kind === 'transition');
    expect(transitions.map((entry) => `${entry.from}->${entry.to}`)).toEqual(['unhealthy->healthy', 'healthy->unhealthy', 'unknown->healthy']);
  });

  it('ends an outlier ejection early when the instance passes a check', async () => {
    const stub = env.SERVICE_STATE.getByName('alarm-ejection');
    const ids = ['a', 'b'];
    const snapshot = await stub.sync({
      isolateId: 'i',
      policy: policy(ids),
      service: { calls: 5, failures: 5, trailingFailures: 5, hadSuccess: false },
      instances: { a: { calls: 5, failures: 5, trailingFailures: 5, hadSuccess: false, inFlight: 0, latencySumMs: 5 } },
    });
    expect(Object.keys(snapshot.ejected)).toEqual(['a']);
    await stub.armHealthChecks(planFor('alarm-ejection', [{ id: 'a', url: echo! }, { id: 'b', url: echo! }]));
    await runDurableObjectAlarm(stub);
    const status = await stub.status(policy(ids));
    expect(status.instances.find((instance) => instance.id === 'a')?.ejectedUntil).toBeNull();
    expect(status.events[0]).toMatchObject({ kind: 'instance-returned', instance: 'a', detail: 'passed a health check' });
  });

  it('keeps the history bounded by count, newest first', async () => {
    const stub = env.SERVICE_STATE.getByName('alarm-history');
    await stub.armHealthChecks(planFor('alarm-history', [{ id: 'e', url: echo! }], { history: { maxEntries: 10, maxAgeMs: 86_400_000 } }));
    for (let i = 0; i < 14; i++) await runDurableObjectAlarm(stub);
    const history = await stub.healthHistory({ limit: 100 });
    expect(history).toHaveLength(10);
    expect(history[0]!.at).toBeGreaterThanOrEqual(history[9]!.at);
    expect(history[0]!.id).toBeGreaterThan(history[9]!.id);
  });

  it('drops history older than its maximum age', async () => {
    const stub = env.SERVICE_STATE.getByName('alarm-history-age');
    await stub.armHealthChecks(planFor('alarm-history-age', [{ id: 'e', url: echo! }], { history: { maxEntries: 1_000, maxAgeMs: 60_000 } }));
    await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec('UPDATE health_history SET at = at - 120000');
    });
    await runDurableObjectAlarm(stub);
    expect(await stub.healthHistory({ limit: 100 })).toHaveLength(1);
  });

  it('re-arms a lost alarm from the cron (scheduled handler)', async () => {
    const config = {
      services: [{ name: 'cron-svc', routes: [{ pathPrefix: '/cron' }], instances: [{ url: echo! }] }],
    };
    const environment = { ...env, GATEWAY_CONFIG: JSON.stringify(config) };
    const stub = env.SERVICE_STATE.getByName('cron-svc');
    await runInDurableObject(stub, async (_, state) => {
      await state.storage.deleteAlarm();
    });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), environment, ctx);
    await waitOnExecutionContext(ctx);
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.healthStatus()).instances[0]).toMatchObject({ id: 'cron-svc-1', status: 'healthy' });
  });
});
