/** @module RFC 7662 token introspection, for services whose tokens an auth service validates, with a bounded cache. */
import type { IntrospectionConfig } from '../../config/schema.ts';
import { secretNamed, type Env, type Identity } from '../../env.ts';
import { GatewayError } from '../../errors/problem.ts';
import { readBoundedText } from '../../proxy/bounded-body.ts';
import { sha256Hex } from './digest.ts';
import { ExpiringLru } from './expiring-lru.ts';
import { accessList, readClaim, retainClaims } from './identity.ts';
import { TokenRejected } from './token-format.ts';

/** The auth service could not answer (network error, timeout, non-200, not JSON): 503, never a guess. */
export class IntrospectionUnavailable extends Error {
  override readonly name = 'IntrospectionUnavailable';
}

const CACHE_ENTRIES = 10_000;
const MAX_RESPONSE_BYTES = 64 * 1024;
const SUBJECT = /^[^\x00-\x1f\x7f]{1,256}$/;

/**
 * Asks an introspection endpoint whether a bearer token is active (RFC 7662 §2), authenticating with HTTP Basic
 * client credentials (§2.1). Answers are cached per token hash: active ones until the token's `exp` or
 * `cacheMaxTtlSeconds`, whichever comes first; inactive ones for `negativeCacheTtlSeconds`.
 */
export class Introspector {
  readonly #config: IntrospectionConfig;
  readonly #cache = new ExpiringLru<Identity | null>(CACHE_ENTRIES);
  readonly #retainedClaims: ReadonlySet<string>;
  readonly #maxTokenBytes: number;

  /**
   * @param retainedClaims top-level members of the answer kept in identities, for `claim:` identity headers
   * @param maxTokenBytes `gateway.auth.maxTokenBytes`: longer tokens are refused without asking the endpoint
   */
  constructor(config: IntrospectionConfig, retainedClaims: ReadonlySet<string> = new Set(), maxTokenBytes = 8_192) {
    this.#config = config;
    this.#retainedClaims = retainedClaims;
    this.#maxTokenBytes = maxTokenBytes;
  }

  /**
   * @throws TokenRejected when the token is not active (or not for this audience).
   * @throws IntrospectionUnavailable when the endpoint gives no usable answer.
   */
  async introspect(token: string, env: Env, now = Date.now()): Promise<Identity> {
    // The same bound as for JWTs: a header-sized token (up to limits.maxHeaderBytes) is not hashed, posted and cached.
    if (token.length > this.#maxTokenBytes) throw new TokenRejected('invalid', 'token too long');
    const cacheKey = await sha256Hex(token);
    const cached = this.#cache.get(cacheKey, now);
    if (cached === null) throw new TokenRejected('invalid', 'inactive (cached)');
    if (cached !== undefined) return cached;

    const answer = await this.#ask(token, env);
    const identity = this.#identityOf(answer, now);
    const config = this.#config;
    if (identity === undefined) {
      this.#cache.set(cacheKey, null, now + config.negativeCacheTtlSeconds * 1000, now);
      throw new TokenRejected('invalid', 'inactive');
    }
    const exp = typeof answer.exp === 'number' && Number.isFinite(answer.exp) ? answer.exp * 1000 : Infinity;
    this.#cache.set(cacheKey, identity, Math.min(exp, now + config.cacheMaxTtlSeconds * 1000), now);
    return identity;
  }

  async #ask(token: string, env: Env): Promise<Record<string, unknown>> {
    const config = this.#config;
    const secret = secretNamed(env, config.clientSecret);
    if (secret === undefined) {
      console.error(JSON.stringify({ level: 'error', message: `secret ${config.clientSecret} of introspection endpoint "${config.name}" is not set` }));
      throw new GatewayError('configuration-error');
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), config.timeoutMs);
    try {
      const response = await fetch(config.url, {
        method: 'POST',
        headers: {
          // RFC 6749 §2.3.1: client id and secret are form-encoded before they go into Basic credentials.
          authorization: `Basic ${btoa(`${formEncode(config.clientId)}:${formEncode(secret)}`)}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        redirect: 'manual',
        signal: controller.signal,
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`status ${response.status}`);
      }
      const text = await readBoundedText(response, MAX_RESPONSE_BYTES);
      const body: unknown = JSON.parse(text);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not a JSON object');
      return body as Record<string, unknown>;
    } catch (error) {
      console.error(JSON.stringify({ level: 'warn', message: 'token introspection failed', endpoint: config.name, error: String(error) }));
      throw new IntrospectionUnavailable(String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /** The caller, when the answer says the token is active, unexpired, started and for our audience. */
  #identityOf(answer: Record<string, unknown>, now: number): Identity | undefined {
    const config = this.#config;
    if (answer.active !== true) return undefined;
    const nowSeconds = now / 1000;
    if (answer.exp !== undefined && !(typeof answer.exp === 'number' && answer.exp > nowSeconds)) return undefined;
    if (answer.nbf !== undefined && !(typeof answer.nbf === 'number' && answer.nbf <= nowSeconds + 60)) return undefined;
    if (config.audience) {
      const aud = typeof answer.aud === 'string' ? [answer.aud] : Array.isArray(answer.aud) ? answer.aud : [];
      if (!config.audience.some((accepted) => aud.includes(accepted))) return undefined;
    }
    const subject = [answer.sub, answer.username, answer.client_id].find((value) => typeof value === 'string' && SUBJECT.test(value)) as string | undefined;
    if (subject === undefined) return undefined;
    const claims = retainClaims(answer, this.#retainedClaims);
    return {
      method: 'introspection',
      subject,
      consumerId: `${config.name}:${subject}`,
      roles: accessList(readClaim(answer, config.rolesClaim)),
      scopes: accessList(readClaim(answer, config.scopesClaim)),
      ...(claims ? { claims } : {}),
    };
  }
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
