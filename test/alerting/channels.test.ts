import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { ChannelSchema } from '../../src/alerting/channel-config.ts';
import { deliver } from '../../src/alerting/channels/index.ts';
import { signatureOf } from '../../src/alerting/channels/webhook.ts';
import type { Alert } from '../../src/alerting/lifecycle.ts';
import { notificationFor } from '../../src/alerting/notification.ts';
import type { Env } from '../../src/env.ts';

const receiver = inject('receiver');
const alert: Alert = { id: 'a-1', rule: 'high-error-rate', service: 'svc', severity: 'high', status: 'active', value: 0.08, threshold: 0.05, message: 'svc: error_rate is 0.08', firedAt: 1_700_000_000_000 };
type Received = { method: string; headers: Record<string, string>; body: string };

async function received(path: string): Promise<Received[]> {
  return (await (await fetch(`${receiver}/__received?path=${encodeURIComponent(path)}`)).json()) as Received[];
}

describe('notification channels against a local receiver', () => {
  it('webhook: JSON body, idempotency key, and an HMAC-SHA256 signature of the exact body', async () => {
    const channel = ChannelSchema.parse({ name: 'hook', type: 'webhook', url: `${receiver}/hook`, secret: 'webhook-secret-123' });
    expect(await deliver(channel, notificationFor(alert, 'fired', 'hook'), env as Env)).toEqual({ ok: true, status: 200, detail: 'delivered' });
    const [request] = await received('/hook');
    expect(request!.method).toBe('POST');
    expect(request!.headers['idempotency-key']).toBe('a-1:fired');
    expect(JSON.parse(request!.body)).toEqual({ idempotencyKey: 'a-1:fired', kind: 'fired', alert });
    expect(request!.headers['x-signature-256']).toBe(await signatureOf('webhook-secret-123', request!.body));
    // An independent check of the format: sha256=<64 hex digits>, computed with the Web Crypto API.
    expect(request!.headers['x-signature-256']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('webhook without a secret sends no signature; a secret named as a Workers secret is used', async () => {
    await deliver(ChannelSchema.parse({ name: 'plain', type: 'webhook', url: `${receiver}/plain` }), notificationFor(alert, 'resolved', 'plain'), env as Env);
    expect((await received('/plain'))[0]!.headers['x-signature-256']).toBeUndefined();
    const named = ChannelSchema.parse({ name: 'named', type: 'webhook', url: `${receiver}/named`, secretName: 'HOOK_SECRET' });
    await deliver(named, notificationFor(alert, 'fired', 'named'), { ...env, HOOK_SECRET: 'from-the-secret-store' } as Env);
    const [request] = await received('/named');
    expect(request!.headers['x-signature-256']).toBe(await signatureOf('from-the-secret-store', request!.body));
  });

  it('slack: incoming-webhook JSON with text and a coloured attachment', async () => {
    await deliver(ChannelSchema.parse({ name: 'slack', type: 'slack', url: `${receiver}/slack` }), notificationFor(alert, 'fired', 'slack'), env as Env);
    const body = JSON.parse((await received('/slack'))[0]!.body) as { text: string; attachments: { color: string; fields: { title: string; value: string }[] }[] };
    expect(body.text).toBe('[HIGH] high-error-rate on svc: svc: error_rate is 0.08');
    expect(body.attachments[0]!.color).toBe('#e65100');
    expect(body.attachments[0]!.fields).toContainEqual({ title: 'Service', value: 'svc', short: true });
  });

  it('email: Resend format (bearer API key, from/to/subject/text, Idempotency-Key)', async () => {
    const channel = ChannelSchema.parse({ name: 'mail', type: 'email', apiUrl: `${receiver}/emails`, from: 'gateway@example.com', to: ['ops@example.com'], apiKey: 're_test_0123456789' });
    expect((await deliver(channel, notificationFor(alert, 'fired', 'mail'), env as Env)).ok).toBe(true);
    const [request] = await received('/emails');
    expect(request!.headers.authorization).toBe('Bearer re_test_0123456789');
    expect(request!.headers['idempotency-key']).toBe('a-1:fired');
    expect(JSON.parse(request!.body)).toMatchObject({ from: 'gateway@example.com', to: ['ops@example.com'], subject: '[HIGH] high-error-rate on svc: svc: error_rate is 0.08' });
  });

  it("sms: Twilio's Messages API (basic auth, form fields To/From/Body), one message per recipient", async () => {
    const sid = `AC${'0'.repeat(31)}1`;
    const channel = ChannelSchema.parse({ name: 'sms', type: 'sms', apiUrl: receiver, accountSid: sid, from: '+15005550006', to: ['+919812345678', '+919812345679'], authToken: 'twilio-token-123' });
    expect((await deliver(channel, notificationFor(alert, 'fired', 'sms'), env as Env)).ok).toBe(true);
    const requests = await received(`/2010-04-01/Accounts/${sid}/Messages.json`);
    expect(requests).toHaveLength(2);
    expect(requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(requests[0]!.headers.authorization).toBe(`Basic ${btoa(`${sid}:twilio-token-123`)}`);
    const form = new URLSearchParams(requests[1]!.body);
    expect([form.get('To'), form.get('From'), form.get('Body')]).toEqual(['+919812345679', '+15005550006', '[HIGH] high-error-rate on svc: svc: error_rate is 0.08']);
  });

  it('reports a failing receiver and an unreachable one as not delivered', async () => {
    expect(await deliver(ChannelSchema.parse({ name: 'f', type: 'webhook', url: `${receiver}/fail-hook` }), notificationFor(alert, 'fired', 'f'), env as Env)).toEqual({ ok: false, status: 500, detail: 'receiver answered 500' });
    expect((await deliver(ChannelSchema.parse({ name: 'f', type: 'webhook', url: inject('closedOrigin') }), notificationFor(alert, 'fired', 'f'), env as Env)).detail).toBe('connection failed');
  });
});
