/**
 * @module The `email` channel through Resend's HTTP API: `POST /emails` with `Authorization: Bearer <API key>`,
 * JSON `{ from, to, subject, text }`, and Resend's `Idempotency-Key` header so a redelivery sends no second mail.
 */
import { headline, post, type DeliveryResult, type Notification } from '../notification.ts';

export async function sendEmail(
  channel: { apiUrl: string; from: string; to: string[] },
  apiKey: string | undefined,
  notification: Notification,
  fetcher: typeof fetch,
): Promise<DeliveryResult> {
  if (!apiKey) return { ok: false, status: null, detail: 'no API key configured' };
  const { alert } = notification;
  const text = [
    headline(notification),
    '',
    `Service:   ${alert.service}`,
    `Rule:      ${alert.rule}`,
    `Severity:  ${alert.severity}`,
    `Value:     ${alert.value} (threshold ${alert.threshold})`,
    `Fired at:  ${new Date(alert.firedAt).toISOString()}`,
    alert.resolvedAt ? `Resolved:  ${new Date(alert.resolvedAt).toISOString()}` : '',
    `Alert id:  ${alert.id}`,
  ].join('\n');
  return post(fetcher, channel.apiUrl, {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': notification.idempotencyKey },
    body: JSON.stringify({ from: channel.from, to: channel.to, subject: headline(notification).slice(0, 200), text }),
  });
}
