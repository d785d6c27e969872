/** @module Delivery of one notification to one channel, whatever its type; secrets resolved here, never earlier. */
import { secretNamed, type Env } from '../../env.ts';
import type { Channel } from '../channel-config.ts';
import type { DeliveryResult, Notification } from '../notification.ts';
import { sendEmail } from './email.ts';
import { sendLog } from './log.ts';
import { sendSlack } from './slack.ts';
import { sendSms } from './sms.ts';
import { sendWebhook } from './webhook.ts';

export function deliver(channel: Channel, notification: Notification, env: Env, fetcher: typeof fetch = fetch): Promise<DeliveryResult> {
  const secret = (value: string | undefined, name: string | undefined) => value ?? (name ? secretNamed(env, name) : undefined);
  switch (channel.type) {
    case 'log':
      return sendLog(notification);
    case 'webhook':
      return sendWebhook(channel.url, secret(channel.secret, channel.secretName), notification, fetcher);
    case 'slack':
      return sendSlack(channel.url, notification, fetcher);
    case 'email':
      return sendEmail(channel, secret(channel.apiKey, channel.apiKeyName), notification, fetcher);
    case 'sms':
      return sendSms(channel, secret(channel.authToken, channel.authTokenName), notification, fetcher);
  }
}
