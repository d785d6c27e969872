/** @module The `log` channel: one JSON line in the Worker's logs (Workers Logs / `wrangler tail`). */
import type { DeliveryResult, Notification } from '../notification.ts';

export async function sendLog(notification: Notification): Promise<DeliveryResult> {
  console.log(JSON.stringify({ level: notification.alert.severity === 'info' ? 'info' : 'warn', event: 'alert', kind: notification.kind, idempotencyKey: notification.idempotencyKey, alert: notification.alert }));
  return { ok: true, status: null, detail: 'logged' };
}
