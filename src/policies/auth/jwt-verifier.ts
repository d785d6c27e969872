/**
 * @module JWT bearer verification for every configured issuer: the gateway's strict pre-checks, then jose with each
 * of its loose defaults closed, then a bounded cache of verified tokens.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import type { AuthSettings, IssuerConfig } from '../../config/schema.ts';
import { secretNamed, type Env, type Identity } from '../../env.ts';
import { GatewayError } from '../../errors/problem.ts';
import { sha256Hex } from './digest.ts';
import { ExpiringLru } from './expiring-lru.ts';
import { accessList, readClaim, retainClaims } from './identity.ts';
import { sharedJwksCache, NoMatchingKey, type JwksCache, type JwksSource } from './jwks-cache.ts';
import { checkRegisteredClaims, parseCompactJwt, TokenRejected } from './token-format.ts';

/** Tokens up to this length are cached under themselves; longer ones under their hash. */
const MAX_PLAIN_KEY_LENGTH = 1_024;

/** A token that passed every check. */
export interface VerifiedToken {
  /** Name of the issuer (`gateway.auth.issuers[].name`). */
  issuer: string;
  identity: Identity;
}

interface CompiledIssuer {
  config: IssuerConfig;
  algorithms: readonly string[];
  requiredClaims: string[];
  jwks: JwksSource | undefined;
}

const HMAC_HASH: Readonly<Record<string, string>> = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };

/**
 * Verifies bearer JWTs against the gateway's issuers. One per configuration version; verified tokens are
 * remembered (keyed by SHA-256 of the token, never past `exp`, at most `tokenCache.maxTtlSeconds`).
 */
export class JwtVerifier {
  readonly #issuers = new Map<string, CompiledIssuer>();
  readonly #cache: ExpiringLru<VerifiedToken>;
  readonly #maxTtlMs: number;
  readonly #maxTokenBytes: number;
  readonly #jwks: JwksCache;
  /** HMAC keys imported from secrets, by `<alg>:<secret>`; secrets change only with a deployment. */
  readonly #hmacKeys = new Map<string, CryptoKey>();
  readonly #retainedClaims: ReadonlySet<string>;

  /** @param retainedClaims top-level claims kept in identities, for `claim:` identity headers */
  constructor(settings: AuthSettings, jwks: JwksCache = sharedJwksCache, retainedClaims: ReadonlySet<string> = new Set()) {
    this.#retainedClaims = retainedClaims;
    for (const config of settings.issuers) {
      this.#issuers.set(config.issuer, {
        config,
        algorithms: config.algorithms,
        requiredClaims: [...new Set(['iss', 'aud', 'sub', 'exp', ...config.requiredClaims])],
        jwks: config.jwksUrl === undefined
          ? undefined
          : {
              url: config.jwksUrl,
              cacheMaxAgeMs: config.jwks.cacheMaxAgeSeconds * 1000,
              cooldownMs: config.jwks.cooldownSeconds * 1000,
              staleIfErrorMs: config.jwks.staleIfErrorSeconds * 1000,
              timeoutMs: config.jwks.timeoutMs,
            },
      });
    }
    this.#cache = new ExpiringLru(settings.tokenCache.maxEntries);
    this.#maxTtlMs = settings.tokenCache.maxTtlSeconds * 1000;
    this.#maxTokenBytes = settings.maxTokenBytes;
    this.#jwks = jwks;
  }

  /**
   * The verification of `token` an earlier `verify` cached, when there is one and its issuer is among `allowed`: a
   * map lookup and no promise, for the request path. Undefined sends the caller to `verify`, which also names why a
   * token is refused.
   */
  cached(token: string, allowed: ReadonlySet<string> | undefined, now = Date.now()): VerifiedToken | undefined {
    if (token.length > MAX_PLAIN_KEY_LENGTH) return undefined;
    const verified = this.#cache.get(token, now);
    if (verified === undefined || (allowed && !allowed.has(verified.issuer))) return undefined;
    return verified;
  }

  /**
   * Verifies `token` for a caller that accepts the issuers named in `allowed` (all issuers when undefined).
   *
   * @throws TokenRejected (401) for any token that is not valid, or valid but from an issuer not allowed here.
   * @throws KeyServerUnavailable (503) when the issuer's keys cannot be had.
   * @throws GatewayError `configuration-error` when an issuer's secret is not set.
   */
  async verify(token: string, env: Env, allowed: ReadonlySet<string> | undefined, now = Date.now()): Promise<VerifiedToken> {
    if (token.length > this.#maxTokenBytes) throw new TokenRejected('invalid', 'token too long');
    // Ordinary tokens are their own cache key: a hit is a map lookup. Only tokens that verified are stored, so the
    // memory is bounded by maxEntries × MAX_PLAIN_KEY_LENGTH and follows real clients, not attackers. Longer tokens
    // are keyed by their SHA-256 ("#" keeps the two kinds of key apart: it is not a base64url character).
    const cacheKey = token.length <= MAX_PLAIN_KEY_LENGTH ? token : `#${await sha256Hex(token)}`;
    let verified = this.#cache.get(cacheKey, now);
    if (verified === undefined) {
      const { token: result, expiresAt } = await this.#verifyUncached(token, env, now);
      verified = result;
      this.#cache.set(cacheKey, verified, Math.min(expiresAt, now + this.#maxTtlMs), now);
    }
    if (allowed && !allowed.has(verified.issuer)) throw new TokenRejected('invalid', `issuer "${verified.issuer}" not accepted here`);
    return verified;
  }

  async #verifyUncached(token: string, env: Env, now: number): Promise<{ token: VerifiedToken; expiresAt: number }> {
    // Cheap checks first: syntax, header, claim types and times; keys and signatures only for tokens that pass.
    const { header, claims } = parseCompactJwt(token, this.#maxTokenBytes);
    const issuer = typeof claims.iss === 'string' ? this.#issuers.get(claims.iss) : undefined;
    if (!issuer) throw new TokenRejected('invalid', 'unknown issuer');
    const { config } = issuer;
    const nowSeconds = Math.floor(now / 1000);
    checkRegisteredClaims(claims, nowSeconds, config.clockSkewSeconds);
    // The issuer's allow-list decides the key type: HS only with a secret, RS/PS/ES/EdDSA only with its JWKS.
    if (!issuer.algorithms.includes(header.alg)) throw new TokenRejected('invalid', `algorithm ${header.alg} not allowed for this issuer`);

    const key = issuer.jwks ? await this.#jwksKey(issuer.jwks, header, now) : await this.#hmacKey(config, header.alg, env);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [...issuer.algorithms],
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: issuer.requiredClaims,
        clockTolerance: config.clockSkewSeconds,
        currentDate: new Date(now),
        ...(config.maxTokenAgeSeconds === undefined ? {} : { maxTokenAge: config.maxTokenAgeSeconds }),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new TokenRejected('expired', error.message);
      if (error instanceof joseErrors.JOSEError) throw new TokenRejected('invalid', error.message);
      throw error;
    }

    const subject = payload.sub as string; // checked by checkRegisteredClaims
    const retained = retainClaims(payload, this.#retainedClaims);
    const identity: Identity = {
      method: 'jwt',
      subject,
      consumerId: `${config.name}:${subject}`,
      roles: accessList(readClaim(payload, config.rolesClaim)),
      scopes: accessList(readClaim(payload, config.scopesClaim)),
      ...(retained ? { claims: retained } : {}),
    };
    let expiresAt = (payload.exp as number) * 1000;
    if (config.maxTokenAgeSeconds !== undefined) expiresAt = Math.min(expiresAt, ((payload.iat as number) + config.maxTokenAgeSeconds) * 1000);
    return { token: { issuer: config.name, identity }, expiresAt };
  }

  async #jwksKey(source: JwksSource, header: { alg: string; kid?: string }, now: number): Promise<CryptoKey> {
    try {
      return await this.#jwks.key(source, header, now);
    } catch (error) {
      if (error instanceof NoMatchingKey) throw new TokenRejected('invalid', error.message);
      throw error;
    }
  }

  async #hmacKey(config: IssuerConfig, alg: string, env: Env): Promise<CryptoKey> {
    const secret = secretNamed(env, config.secret);
    if (secret === undefined) {
      console.error(JSON.stringify({ level: 'error', message: `secret ${config.secret} of issuer "${config.name}" is not set` }));
      throw new GatewayError('configuration-error');
    }
    const cacheKey = `${alg}:${secret}`;
    let key = this.#hmacKeys.get(cacheKey);
    if (!key) {
      key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: HMAC_HASH[alg]! }, false, ['verify']);
      if (this.#hmacKeys.size >= 16) this.#hmacKeys.clear();
      this.#hmacKeys.set(cacheKey, key);
    }
    return key;
  }
}
