/** @module What goes through the alert queue: one message per alert transition and channel. */
import type { Alert } from './lifecycle.ts';

export type NotificationKind = 'fired' | 'resolved' | 'test';

export interface Notification {
  /** Alert id + transition: the same for every redelivery, so a receiver can drop repeats (queues deliver at least once). */
  idempotencyKey: string;
  kind: NotificationKind;
  channel: string;
  alert: Alert;
}

export interface DeliveryResult {
  ok: boolean;
  /** HTTP status of the receiver, when one answered. */
  status: number | null;
  detail: string;
}

export function notificationFor(alert: Alert, kind: NotificationKind, channel: string): Notification {
  return { idempotencyKey: `${alert.id}:${kind}`, kind, channel, alert };
}

/** One line a human reads: the subject of an e-mail, the text of an SMS or a Slack message. */
export function headline(notification: Notification): string {
  const { alert, kind } = notification;
  const what = kind === 'resolved' ? 'RESOLVED' : kind === 'test' ? 'TEST' : alert.severity.toUpperCase();
  return `[${what}] ${alert.rule} on ${alert.service}: ${alert.message}`;
}

/** A POST whose outcome is a DeliveryResult: a 2xx is delivered, anything else (or no answer) is not. */
export async function post(fetcher: typeof fetch, url: string, init: RequestInit, timeoutMs = 10_000): Promise<DeliveryResult> {
  try {
    const response = await fetcher(url, { ...init, method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    // The status is the answer; a body that cannot be cancelled does not undo a delivery.
    await response.body?.cancel().catch(() => {});
    const ok = response.status >= 200 && response.status < 300;
    return { ok, status: response.status, detail: ok ? 'delivered' : `receiver answered ${response.status}` };
  } catch (error) {
    const timedOut = (error as Error)?.name === 'TimeoutError';
    return { ok: false, status: null, detail: timedOut ? `no answer within ${timeoutMs} ms` : 'connection failed' };
  }
}
