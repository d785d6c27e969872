/** @module The `slack` channel: Slack's incoming-webhook JSON (`text`, plus an attachment coloured by severity). */
import { headline, post, type DeliveryResult, type Notification } from '../notification.ts';

const COLOURS = { critical: '#b00020', high: '#e65100', medium: '#f9a825', low: '#1565c0', info: '#607d8b' } as const;

export async function sendSlack(url: string, notification: Notification, fetcher: typeof fetch): Promise<DeliveryResult> {
  const { alert } = notification;
  const body = {
    text: headline(notification),
    attachments: [
      {
        color: notification.kind === 'resolved' ? '#2e7d32' : COLOURS[alert.severity],
        fields: [
          { title: 'Service', value: alert.service, short: true },
          { title: 'Severity', value: alert.severity, short: true },
          { title: 'Value', value: String(alert.value), short: true },
          { title: 'Threshold', value: String(alert.threshold), short: true },
        ],
        footer: `alert ${alert.id}`,
        ts: Math.floor(alert.firedAt / 1000),
      },
    ],
  };
  return post(fetcher, url, { headers: { 'content-type': 'application/json', 'idempotency-key': notification.idempotencyKey }, body: JSON.stringify(body) });
}
