/**
 * @module Cloudflare Access in front of the admin plane: verifies the `Cf-Access-Jwt-Assertion` token Access adds
 * to requests it let through, against the team's key set and the application's audience, and maps the person
 * (`email`) or service token (`common_name`) to the admin role by an allow list.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import type { CloudflareAccessConfig } from '../../config/schema.ts';
import type { Identity } from '../../env.ts';
import { sharedJwksCache, NoMatchingKey, type JwksCache, type JwksSource } from './jwks-cache.ts';
import { parseCompactJwt, TokenRejected } from './token-format.ts';

/** The header Access sets on every request to a path its application covers (never a cookie: see README). */
export const ACCESS_ASSERTION_HEADER = 'cf-access-jwt-assertion';

// Access signs its application tokens with RS256 only; accepting nothing else closes algorithm confusion.
const ACCESS_ALGORITHMS = ['RS256'];
const MAX_ASSERTION_BYTES = 8_192;

/** A valid Access token whose email or service token is not on the allow list (403, not 401). */
export class AccessNotAllowed extends Error {
  override readonly name = 'AccessNotAllowed';
}

/** `iss` of the team's tokens: `https://<team>.cloudflareaccess.com`, or the configured URL itself (local key servers). */
export function accessIssuer(teamDomain: string): string {
  return teamDomain.includes('://') ? teamDomain : `https://${teamDomain}`;
}

/**
 * Verifies Access application tokens for one configuration version.
 *
 * @example
 * const access = new AccessVerifier({ teamDomain: 'acme.cloudflareaccess.com', audience: ['4714c1…'], emails: ['ops@acme.example'], … }, 'admin');
 * const identity = await access.verify(request.headers.get('cf-access-jwt-assertion')!);
 */
export class AccessVerifier {
  readonly #issuer: string;
  readonly #audience: string[];
  readonly #emails: ReadonlySet<string>;
  readonly #serviceTokens: ReadonlySet<string>;
  readonly #clockSkewSeconds: number;
  readonly #keys: JwksSource;
  readonly #jwks: JwksCache;
  readonly #adminRole: string;

  constructor(config: CloudflareAccessConfig, adminRole: string, jwks: JwksCache = sharedJwksCache) {
    this.#issuer = accessIssuer(config.teamDomain);
    this.#audience = [...config.audience];
    this.#emails = new Set(config.emails);
    this.#serviceTokens = new Set(config.serviceTokens);
    this.#clockSkewSeconds = config.clockSkewSeconds;
    this.#keys = {
      url: `${this.#issuer}/cdn-cgi/access/certs`,
      cacheMaxAgeMs: config.jwks.cacheMaxAgeSeconds * 1000,
      cooldownMs: config.jwks.cooldownSeconds * 1000,
      staleIfErrorMs: config.jwks.staleIfErrorSeconds * 1000,
      timeoutMs: config.jwks.timeoutMs,
    };
    this.#jwks = jwks;
    this.#adminRole = adminRole;
  }

  /**
   * The admin identity of a valid, allowed assertion.
   * @throws TokenRejected (401) for a token that is not valid for this team and audience.
   * @throws AccessNotAllowed (403) for a valid token of someone not on the allow list.
   * @throws KeyServerUnavailable (503) when the team's keys cannot be had.
   */
  async verify(assertion: string, now = Date.now()): Promise<Identity> {
    const { header } = parseCompactJwt(assertion, MAX_ASSERTION_BYTES);
    if (!ACCESS_ALGORITHMS.includes(header.alg)) throw new TokenRejected('invalid', `algorithm ${header.alg} not used by Access`);
    let key: CryptoKey;
    try {
      key = await this.#jwks.key(this.#keys, header, now);
    } catch (error) {
      if (error instanceof NoMatchingKey) throw new TokenRejected('invalid', error.message);
      throw error;
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(assertion, key, {
        algorithms: ACCESS_ALGORITHMS,
        issuer: this.#issuer,
        audience: this.#audience,
        requiredClaims: ['exp', 'iat'],
        clockTolerance: this.#clockSkewSeconds,
        currentDate: new Date(now),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new TokenRejected('expired', error.message);
      if (error instanceof joseErrors.JOSEError) throw new TokenRejected('invalid', error.message);
      throw error;
    }
    if (typeof payload.iat === 'number' && payload.iat > now / 1000 + this.#clockSkewSeconds) throw new TokenRejected('invalid', '"iat" is in the future');

    // A user's token carries `email`; a service token's carries `common_name` (its Client ID) and an empty `sub`.
    // Groups are not in the token by default, so the allow list is of people and service tokens.
    const email = typeof payload.email === 'string' && payload.email !== '' ? payload.email.toLowerCase() : undefined;
    const commonName = typeof payload.common_name === 'string' && payload.common_name !== '' ? payload.common_name : undefined;
    const subject = email ?? commonName;
    if (subject === undefined) throw new TokenRejected('invalid', 'neither "email" nor "common_name" in the Access token');
    const allowed = email !== undefined ? this.#emails.has(email) : this.#serviceTokens.has(commonName!);
    if (!allowed) throw new AccessNotAllowed(`${email !== undefined ? 'email' : 'service token'} not on the admin allow list`);
    return { method: 'cloudflare-access', subject, consumerId: `cloudflare-access:${subject}`, roles: [this.#adminRole], scopes: [] };
  }
}
