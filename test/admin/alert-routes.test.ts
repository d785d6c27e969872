import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { ALERTS_NAME } from '../../src/alerting/evaluator.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { asAdmin, gatewayFor, problemType } from '../support/gateway.ts';

const receiver = inject('receiver');
const config: GatewayConfigInput = {
  gateway: { controlPlane: { allowPrivateOriginAddresses: true } },
  services: [{ name: 'ar-svc', routes: [{ pathPrefix: '/ar' }], instances: [{ url: 'https://origin.example' }] }],
};
const send = gatewayFor(config);
const post = (path: string, body: unknown, method = 'POST') => send(path, asAdmin({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));

describe('alerts API', () => {
  it('adds, replaces, lists and deletes rules, beside the built-in ones', async () => {
    const created = await post('/alerts/alert-rules', { name: 'cpu-hot', metric: 'origin.cpu', threshold: 70, channels: ['hook'] });
    expect(created.status).toBe(201);
    expect(await problemType(await post('/alerts/alert-rules', { name: 'cpu-hot', metric: 'origin.cpu', threshold: 70 }))).toBe('resource-exists');
    expect((await post('/alerts/alert-rules/cpu-hot', { name: 'cpu-hot', metric: 'origin.cpu', threshold: 75 }, 'PUT')).status).toBe(200);
    const invalid = await post('/alerts/alert-rules', { name: 'bad', metric: 'cpu', threshold: 1 });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('metric');
    const rules = ((await (await send('/alerts/alert-rules', asAdmin())).json()) as { rules: { name: string; threshold: number; source: string }[] }).rules;
    expect(rules.find((rule) => rule.name === 'cpu-hot')).toMatchObject({ threshold: 75, source: 'api' });
    expect(rules.find((rule) => rule.name === 'high-error-rate')).toMatchObject({ threshold: 0.05, source: 'default' });
    expect((await send('/alerts/alert-rules/cpu-hot', asAdmin({ method: 'DELETE' }))).status).toBe(204);
    expect((await send('/alerts/alert-rules/cpu-hot', asAdmin({ method: 'DELETE' }))).status).toBe(404);
  });

  it('never returns a channel secret, and refuses channel URLs the origin guard refuses', async () => {
    const created = await post('/alerts/notification-channels', { name: 'hook', type: 'webhook', url: `${receiver}/api-hook`, secret: 'hook-secret-value' });
    expect(created.status).toBe(201);
    const listed = await (await send('/alerts/notification-channels', asAdmin())).text();
    expect(listed).not.toContain('hook-secret-value');
    expect(JSON.parse(listed).channels[0]).toMatchObject({ name: 'hook', secretSet: true, source: 'api' });
    const guarded = gatewayFor({ ...config, gateway: {} });
    const refused = await guarded('/alerts/notification-channels', asAdmin({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'meta', type: 'webhook', url: 'http://169.254.169.254/latest' }) }));
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: { path: string; message: string }[] }).errors[0]).toMatchObject({ path: 'url', message: expect.stringContaining('non-public') });
  });

  it('refuses a channel URL longer than an instance URL may be, naming the field', async () => {
    const refused = await post('/alerts/notification-channels', { name: 'long', type: 'webhook', url: `${receiver}/${'x'.repeat(3_000)}`, secret: 'hook-secret-value' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('url');
  });

  it('acknowledges and resolves an alert, refusing transitions that make no sense', async () => {
    const [transition] = await env.ALERTS.getByName(ALERTS_NAME).evaluate([{ rule: 'ar-rule', service: 'ar-svc', severity: 'high', breached: true, value: 1, threshold: 0, message: 'm', cooldownMs: 0 }]);
    const id = transition!.kind === 'fired' ? transition!.alert.id : '';
    const list = (await (await send('/alerts/alerts?status=active&service=ar-svc', asAdmin())).json()) as { alerts: { id: string }[] };
    expect(list.alerts.map((alert) => alert.id)).toContain(id);
    const acknowledged = await send(`/alerts/alerts/${id}/acknowledge`, asAdmin({ method: 'POST' }));
    expect(await acknowledged.json()).toMatchObject({ id, status: 'acknowledged', acknowledgedBy: 'admin-token:admin-token', acknowledgedAt: expect.any(Number) });
    const again = await send(`/alerts/alerts/${id}/acknowledge`, asAdmin({ method: 'POST' }));
    expect(again.status).toBe(409);
    expect(await problemType(again)).toBe('alert-state-conflict');
    expect(await (await send(`/alerts/alerts/${id}/resolve`, asAdmin({ method: 'POST' }))).json()).toMatchObject({ status: 'resolved' });
    expect((await send(`/alerts/alerts/${crypto.randomUUID()}`, asAdmin())).status).toBe(404);
    const stats = (await (await send('/alerts/statistics', asAdmin())).json()) as { byStatus: Record<string, number>; meanTimeToAcknowledgeMs: number | null };
    expect(stats.byStatus.resolved).toBeGreaterThanOrEqual(1);
    expect(stats.meanTimeToAcknowledgeMs).not.toBeNull();
  });

  it('POST /alerts/test-alert goes through the queue to the channel, and the attempt is recorded on the alert', async () => {
    await post('/alerts/notification-channels', { name: 'test-hook', type: 'webhook', url: `${receiver}/test-alert-hook` });
    const response = await post('/alerts/test-alert', { severity: 'info', channels: ['test-hook'] });
    expect(response.status).toBe(202);
    const { alert } = (await response.json()) as { alert: { id: string } };
    // The queue delivers in the background (after max_batch_timeout): wait for it, bounded.
    let deliveries: { ok: boolean; channel: string }[] = [];
    for (let i = 0; i < 50 && deliveries.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      deliveries = ((await (await send(`/alerts/alerts/${alert.id}`, asAdmin())).json()) as { deliveries: typeof deliveries }).deliveries;
    }
    expect(deliveries).toEqual([expect.objectContaining({ channel: 'test-hook', ok: true, kind: 'test' })]);
    const received = (await (await fetch(`${receiver}/__received?path=/test-alert-hook`)).json()) as { body: string; headers: Record<string, string> }[];
    expect(JSON.parse(received[0]!.body)).toMatchObject({ kind: 'test', alert: { id: alert.id, severity: 'info' } });
    expect(received[0]!.headers['idempotency-key']).toBe(`${alert.id}:test`);
    expect(await problemType(await post('/alerts/test-alert', { channels: ['nope'] }))).toBe('resource-not-found');
  });
});
