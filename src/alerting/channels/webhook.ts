/**
 * @module The `webhook` channel: the notification as JSON, signed with HMAC-SHA256 in `X-Signature-256:
 * sha256=<hex>` (GitHub's format) when a secret is set, with the idempotency key in `Idempotency-Key`.
 */
import { post, type DeliveryResult, type Notification } from '../notification.ts';

export async function signatureOf(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body)));
  return `sha256=${[...mac].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

export async function sendWebhook(url: string, secret: string | undefined, notification: Notification, fetcher: typeof fetch): Promise<DeliveryResult> {
  const body = JSON.stringify({ idempotencyKey: notification.idempotencyKey, kind: notification.kind, alert: notification.alert });
  const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': notification.idempotencyKey, 'user-agent': 'edge-gateway-alerts' };
  if (secret) headers['x-signature-256'] = await signatureOf(secret, body);
  return post(fetcher, url, { headers, body });
}
