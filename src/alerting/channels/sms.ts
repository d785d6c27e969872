/**
 * @module The `sms` channel through Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
 * HTTP Basic auth (account SID, auth token), form fields `To`, `From`, `Body`; one message per recipient.
 */
import { headline, post, type DeliveryResult, type Notification } from '../notification.ts';

export async function sendSms(
  channel: { apiUrl: string; accountSid: string; from: string; to: string[] },
  authToken: string | undefined,
  notification: Notification,
  fetcher: typeof fetch,
): Promise<DeliveryResult> {
  if (!authToken) return { ok: false, status: null, detail: 'no auth token configured' };
  const url = `${channel.apiUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${channel.accountSid}/Messages.json`;
  const authorization = `Basic ${btoa(`${channel.accountSid}:${authToken}`)}`;
  // An SMS is short: the headline, cut to two segments.
  const body = headline(notification).slice(0, 300);
  for (const to of channel.to) {
    const result = await post(fetcher, url, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization, 'i-twilio-idempotency-token': `${notification.idempotencyKey}:${to}` },
      body: new URLSearchParams({ To: to, From: channel.from, Body: body }).toString(),
    });
    if (!result.ok) return { ...result, detail: `${to}: ${result.detail}` };
  }
  return { ok: true, status: 201, detail: `sent to ${channel.to.length}` };
}
