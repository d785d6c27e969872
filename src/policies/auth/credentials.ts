/** @module Reads the one credential a request carries: a bearer token or an API key, and nothing ambiguous. */

export type Credentials =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'api-key'; key: string }
  /** A scheme the gateway does not take (`Basic`, `Digest`, …): answered like no credentials. */
  | { kind: 'other-scheme' }
  /** Unparseable or more than one credential: answered 400 `invalid_request` (RFC 6750 §3.1). */
  | { kind: 'malformed' };

// RFC 9110 §11.4: credentials = auth-scheme [ 1*SP token68 ]; token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
// / "+" / "/" ) *"=". Two Authorization headers arrive joined by ", ", which no token68 contains, so they fail here.
const CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +([A-Za-z0-9\-._~+/]+=*)$/;
const API_KEY_VALUE = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * The request's credentials, from `Authorization` (schemes `Bearer` and `ApiKey`, compared case-insensitively as
 * RFC 9110 §11.1 requires) and `X-API-Key`. Exactly one credential is accepted: two `Authorization` headers, two
 * `X-API-Key` headers, or both headers at once are `malformed`.
 */
export function readCredentials(headers: Headers): Credentials {
  const authorization = headers.get('authorization');
  const apiKey = headers.get('x-api-key');
  if (authorization !== null && apiKey !== null) return { kind: 'malformed' };
  if (apiKey !== null) return API_KEY_VALUE.test(apiKey) ? { kind: 'api-key', key: apiKey } : { kind: 'malformed' };
  if (authorization === null) return { kind: 'none' };
  const match = CREDENTIALS.exec(authorization);
  // A Bearer or ApiKey header that is not exactly one token68 ("Bearer a, Bearer b", "Bearer", "Bearer a b") is
  // malformed (also with a tab where RFC 9110 wants a space); anything else is some other scheme, which the gateway
  // does not take.
  if (!match) return /^(bearer|apikey)(\s|$)/i.test(authorization) ? { kind: 'malformed' } : { kind: 'other-scheme' };
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'bearer') return { kind: 'bearer', token: match[2]! };
  if (scheme === 'apikey') return { kind: 'api-key', key: match[2]! };
  return { kind: 'other-scheme' };
}
