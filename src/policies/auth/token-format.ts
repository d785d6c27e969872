/**
 * @module The gateway's own reading of a compact JWT, stricter than jose's: it runs before any key is looked up or
 * any signature checked, and closes what jose leaves open (repeated header names, padded or non-canonical
 * base64url, non-finite dates).
 */
import { ASYMMETRIC_ALGORITHMS, HMAC_ALGORITHMS } from '../../config/schema.ts';
import { parseStrictJson, StrictJsonError } from './strict-json.ts';

/** Why a token was refused; the first two are told to the client in `error_description`, the rest are "invalid". */
export type TokenFailure = 'expired' | 'not-yet-valid' | 'invalid';

/** A token that must not be accepted. `detail` is for logs, never for the client. */
export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
  readonly failure: TokenFailure;

  constructor(failure: TokenFailure, detail: string) {
    super(detail);
    this.failure = failure;
  }
}

export interface JwsHeader {
  alg: string;
  kid?: string;
}

export interface ParsedJwt {
  header: JwsHeader;
  claims: Record<string, unknown>;
}

/** Every algorithm the gateway can verify; anything else (`none` in any casing included) is refused up front. */
const KNOWN_ALGORITHMS: ReadonlySet<string> = new Set([...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS]);

/**
 * Header parameters that are refused outright:
 * - `jku`, `x5u`, `jwk`, `x5c`: keys or key locations chosen by the sender (RFC 8725 §3.10); keys come from
 *   configuration only;
 * - `crit`: the gateway understands no extension, so any critical one must fail (RFC 7515 §4.1.11);
 * - `b64`: unencoded payloads (RFC 7797) are not JWTs;
 * - `cty`, `zip`, `enc`: nested or encrypted tokens are not accepted as access tokens.
 */
const REFUSED_HEADER_PARAMETERS = ['jku', 'x5u', 'jwk', 'x5c', 'crit', 'b64', 'cty', 'zip', 'enc'] as const;

/** RFC 7519 §4.1 NumericDates beyond the year 9999 are not dates; `1e400` (Infinity) is not either. */
export const MAX_NUMERIC_DATE = 253_402_300_799;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// A kid is only ever a map key here; this bounds it and keeps control characters out of logs.
const KID = /^[\x20-\x7e]{1,256}$/;
const SUBJECT = /^[^\x00-\x1f\x7f]{1,256}$/;
// ignoreBOM keeps a byte order mark in the text, where the strict parser then refuses it (RFC 8259 §8.1).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * True when `segment` is base64url as RFC 7515 §2 requires it: the URL-safe alphabet, no padding, no whitespace,
 * and zero bits where the last character carries fewer than six, so that each byte string has exactly one
 * encoding (a signature with a trailing `=` or a flipped unused bit is a different string, not the same token).
 */
export function isCanonicalBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  const remainder = segment.length % 4;
  if (remainder === 1) return false;
  if (remainder === 0) return true;
  const last = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]!);
  return remainder === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

function decodeBase64url(segment: string): Uint8Array {
  const binary = atob(segment.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function decodeJsonObject(segment: string, part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseStrictJson(utf8.decode(decodeBase64url(segment)));
  } catch (error) {
    if (error instanceof StrictJsonError || error instanceof TypeError || error instanceof DOMException) {
      throw new TokenRejected('invalid', `${part} is not strict JSON: ${(error as Error).message}`);
    }
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenRejected('invalid', `${part} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Splits and decodes a compact JWS, checking its syntax and its header; the signature is not checked here.
 * @throws TokenRejected for anything but exactly three canonical base64url segments, a strict-JSON header and
 * payload, a known algorithm and no refused header parameter.
 */
export function parseCompactJwt(token: string, maxBytes: number): ParsedJwt {
  if (token.length > maxBytes) throw new TokenRejected('invalid', `token longer than ${maxBytes} bytes`);
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot <= 0 || secondDot === -1 || token.indexOf('.', secondDot + 1) !== -1) {
    throw new TokenRejected('invalid', 'not three segments');
  }
  const encodedHeader = token.slice(0, firstDot);
  const encodedPayload = token.slice(firstDot + 1, secondDot);
  const signature = token.slice(secondDot + 1);
  for (const segment of [encodedHeader, encodedPayload, signature]) {
    if (!isCanonicalBase64url(segment)) throw new TokenRejected('invalid', 'segment is not canonical base64url');
  }

  const header = decodeJsonObject(encodedHeader, 'header');
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !KNOWN_ALGORITHMS.has(alg)) {
    throw new TokenRejected('invalid', `algorithm ${JSON.stringify(alg)} is not accepted`);
  }
  for (const parameter of REFUSED_HEADER_PARAMETERS) {
    if (Object.hasOwn(header, parameter)) throw new TokenRejected('invalid', `header parameter "${parameter}" is refused`);
  }
  if (kid !== undefined && (typeof kid !== 'string' || !KID.test(kid))) throw new TokenRejected('invalid', 'malformed kid');
  // RFC 8725 §3.11: explicit typing. Absent is fine; anything but a JWT type is another kind of object.
  if (typ !== undefined && (typeof typ !== 'string' || !/^(application\/)?(at\+)?jwt$/i.test(typ))) {
    throw new TokenRejected('invalid', 'typ is not a JWT type');
  }

  const claims = decodeJsonObject(encodedPayload, 'payload');
  return { header: kid === undefined ? { alg } : { alg, kid }, claims };
}

/**
 * Checks the registered claims' types and times, before any signature work: `iss`, `sub` and `exp` present,
 * dates finite and plausible, `exp` not past, `nbf` and `iat` not in the future (each with `skewSeconds`).
 * @throws TokenRejected
 */
export function checkRegisteredClaims(claims: Record<string, unknown>, nowSeconds: number, skewSeconds: number): void {
  for (const name of ['exp', 'nbf', 'iat'] as const) {
    const value = claims[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_NUMERIC_DATE) {
      throw new TokenRejected('invalid', `"${name}" is not a plausible NumericDate`);
    }
  }
  if (claims.exp === undefined) throw new TokenRejected('invalid', 'no "exp" claim');
  if (typeof claims.iss !== 'string') throw new TokenRejected('invalid', 'no "iss" claim');
  if (typeof claims.sub !== 'string' || !SUBJECT.test(claims.sub)) throw new TokenRejected('invalid', 'no usable "sub" claim');
  if ((claims.exp as number) <= nowSeconds - skewSeconds) throw new TokenRejected('expired', 'expired');
  if (typeof claims.nbf === 'number' && claims.nbf > nowSeconds + skewSeconds) throw new TokenRejected('not-yet-valid', '"nbf" is in the future');
  // jose checks iat only together with maxTokenAge; a token issued in the future is wrong either way.
  if (typeof claims.iat === 'number' && claims.iat > nowSeconds + skewSeconds) throw new TokenRejected('invalid', '"iat" is in the future');
}
