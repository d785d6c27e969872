/**
 * @module Notification channels: one schema per type. Secret fields are write-only: stored, never returned.
 * In gateway.config.json, secrets are named Workers secrets (`secretName`, `apiKeyName`, `authTokenName`).
 */
import * as z from 'zod';
import { SEVERITIES } from './rules.ts';

const Name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected lower-case letters, digits and "-", starting with a letter');
// As long as an instance URL may be (MAX_ORIGIN_URL_LENGTH): the URL is stored, shown and fetched on every alert.
const Url = z.string().max(2_048).url().refine((value) => /^https?:\/\//.test(value), 'expected an http(s) URL');
const SecretBinding = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected the name of a Workers secret in upper case');
const Secret = z.string().min(8).max(512);
const Email = z.string().regex(/^[^\s@]+@[^\s@]+$/, 'expected an e-mail address');
const Phone = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'expected an E.164 phone number such as +919812345678');

const common = {
  name: Name.describe('Unique name that rules refer to.'),
  minSeverity: z.enum(SEVERITIES).optional().describe('Only alerts of this severity or more severe go to the channel.'),
};

export const ChannelSchema = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.literal('log') }).strict(),
  z
    .object({
      ...common,
      type: z.literal('webhook'),
      url: Url.describe('Receives a JSON POST per notification.'),
      secret: Secret.optional().describe('HMAC-SHA256 key: the body is signed in X-Signature-256 (write-only).'),
      secretName: SecretBinding.optional().describe('The same, as the name of a Workers secret.'),
    })
    .strict(),
  z.object({ ...common, type: z.literal('slack'), url: Url.describe('A Slack incoming-webhook URL.') }).strict(),
  z
    .object({
      ...common,
      type: z.literal('email'),
      provider: z.literal('resend').default('resend').describe('The HTTP mail API: Resend (POST /emails, bearer API key).'),
      apiUrl: Url.default('https://api.resend.com/emails').describe('The provider endpoint (a local receiver in tests).'),
      from: Email,
      to: z.array(Email).min(1).max(20),
      apiKey: Secret.optional().describe('Resend API key (write-only).'),
      apiKeyName: SecretBinding.optional().describe('The same, as the name of a Workers secret.'),
    })
    .strict(),
  z
    .object({
      ...common,
      type: z.literal('sms'),
      apiUrl: Url.default('https://api.twilio.com').describe("Twilio's API base (a local receiver in tests)."),
      accountSid: z.string().regex(/^AC[0-9a-f]{32}$/, 'expected a Twilio account SID (AC + 32 hex digits)'),
      from: Phone,
      to: z.array(Phone).min(1).max(10),
      authToken: Secret.optional().describe('Twilio auth token (write-only).'),
      authTokenName: SecretBinding.optional().describe('The same, as the name of a Workers secret.'),
    })
    .strict(),
]);
export type ChannelInput = z.input<typeof ChannelSchema>;
export type Channel = z.output<typeof ChannelSchema>;

/** Fields never returned by the API. */
export const SECRET_FIELDS = ['secret', 'apiKey', 'authToken'] as const;

/** The channel as the API shows it: secrets replaced by whether one is set. */
export function publicChannel(channel: Channel): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...channel };
  for (const field of SECRET_FIELDS) {
    if (field in shown) {
      delete shown[field];
      shown[`${field}Set`] = true;
    }
  }
  return shown;
}

/** The URLs of a channel that must pass the origin-address guard. */
export function channelUrls(channel: Channel): string[] {
  if (channel.type === 'webhook' || channel.type === 'slack') return [channel.url];
  if (channel.type === 'email' || channel.type === 'sms') return [channel.apiUrl];
  return [];
}
