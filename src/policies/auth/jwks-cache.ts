/**
 * @module Public keys of JWKS issuers, per isolate: cached, refetched on an unknown `kid` behind a cooldown, kept
 * when the key server fails, and 503 only when no key at all can be had.
 */
import { importJWK, type JWK } from 'jose';
import { readBoundedText } from '../../proxy/bounded-body.ts';

export interface JwksSource {
  url: string;
  /** A fetched set is used this long before it is fetched again. */
  cacheMaxAgeMs: number;
  /** Least time between two fetches from this isolate (unknown-kid refetches included). */
  cooldownMs: number;
  /** How long past `cacheMaxAgeMs` keys are still used while the key server fails. */
  staleIfErrorMs: number;
  timeoutMs: number;
}

/** No key could be had for the issuer: the key server failed and nothing usable is cached (503, not 401). */
export class KeyServerUnavailable extends Error {
  override readonly name = 'KeyServerUnavailable';
}

/** The key set has no key for this token (unknown `kid`, or no key of the token's type). */
export class NoMatchingKey extends Error {
  override readonly name = 'NoMatchingKey';
}

// After a failed fetch with nothing cached, the next try waits at most this long (or the cooldown if shorter), so a
// dead key server is not asked on every request, and a blip at start-up does not cost a whole cooldown.
const FAILURE_BACKOFF_MS = 5_000;
const MAX_JWKS_BYTES = 256 * 1024;
const MAX_KEYS = 100;

interface KeySet {
  keys: JWK[];
  fetchedAt: number;
  /** Imported keys by `<index in keys>:<alg>`. */
  imported: Map<string, CryptoKey>;
}

interface Entry {
  set: KeySet | undefined;
  /** Start of the last fetch, successful or not. */
  lastAttemptAt: number;
  lastFailureAt: number;
}

/**
 * One per isolate, shared by every issuer and configuration version, keyed by URL.
 *
 * Requests never share a pending fetch: on Workers an I/O promise belongs to the request that started it (jose's
 * remote key set does the same). Instead the time of the last attempt gates new ones, so while one request
 * refreshes a stale set the others keep using it.
 */
export class JwksCache {
  readonly #entries = new Map<string, Entry>();
  readonly #fetch: typeof fetch;

  constructor(fetcher: typeof fetch = (input, init) => fetch(input, init)) {
    this.#fetch = fetcher;
  }

  /**
   * The verification key for a token with header `{ alg, kid }` from the key set at `source.url`.
   * @throws NoMatchingKey when the set (refetched if the cooldown allows) has no such key.
   * @throws KeyServerUnavailable when no key set can be had.
   */
  async key(source: JwksSource, header: { alg: string; kid?: string }, now: number): Promise<CryptoKey> {
    let entry = this.#entries.get(source.url);
    if (!entry) {
      entry = { set: undefined, lastAttemptAt: -Infinity, lastFailureAt: -Infinity };
      this.#entries.set(source.url, entry);
    }
    const sinceAttempt = now - entry.lastAttemptAt;
    let attempted = false; // at most one fetch per call

    if (entry.set === undefined) {
      // Nothing cached: fetch, unless a fetch failed a moment ago.
      if (now - entry.lastFailureAt < Math.min(source.cooldownMs, FAILURE_BACKOFF_MS)) {
        throw new KeyServerUnavailable(`no keys for ${source.url}; last fetch failed`);
      }
      attempted = true;
      if (!(await this.#refresh(source, entry, now))) throw new KeyServerUnavailable(`no keys for ${source.url}`);
    } else if (now - entry.set.fetchedAt >= source.cacheMaxAgeMs) {
      // Stale: one request per backoff period refreshes; on failure the stale keys serve until staleIfError runs out.
      if (sinceAttempt >= Math.min(source.cooldownMs, FAILURE_BACKOFF_MS)) {
        attempted = true;
        await this.#refresh(source, entry, now);
      }
      const set = entry.set;
      if (set === undefined || now - set.fetchedAt >= source.cacheMaxAgeMs + source.staleIfErrorMs) {
        entry.set = undefined;
        throw new KeyServerUnavailable(`keys for ${source.url} are too old and the key server fails`);
      }
    }

    const found = await this.#find(entry.set!, header);
    if (found) return found;
    // An unknown kid may be a key the issuer has just rotated in: refetch, at most once per cooldown.
    if (!attempted && now - entry.lastAttemptAt >= source.cooldownMs && (await this.#refresh(source, entry, now))) {
      const retried = await this.#find(entry.set!, header);
      if (retried) return retried;
    }
    throw new NoMatchingKey(`no key for kid ${JSON.stringify(header.kid)} and alg ${header.alg}`);
  }

  /** Fetches the set; true when it was replaced, false (keeping what was cached) when the fetch failed. */
  async #refresh(source: JwksSource, entry: Entry, now: number): Promise<boolean> {
    entry.lastAttemptAt = now;
    try {
      const keys = await this.#download(source);
      entry.set = { keys, fetchedAt: now, imported: new Map() };
      return true;
    } catch (error) {
      entry.lastFailureAt = now;
      console.error(JSON.stringify({ level: 'warn', message: 'JWKS fetch failed', url: source.url, error: String(error), stale: entry.set !== undefined }));
      return false;
    }
  }

  async #download(source: JwksSource): Promise<JWK[]> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), source.timeoutMs);
    try {
      // No redirects: the key set comes from the configured URL and nowhere else.
      const response = await this.#fetch(source.url, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'manual',
        signal: controller.signal,
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`status ${response.status}`);
      }
      const text = await readBoundedText(response, MAX_JWKS_BYTES);
      const body = JSON.parse(text) as { keys?: unknown };
      if (typeof body !== 'object' || body === null || !Array.isArray(body.keys)) throw new Error('not a JWK Set');
      return body.keys.filter((key): key is JWK => typeof key === 'object' && key !== null && !Array.isArray(key)).slice(0, MAX_KEYS);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The key for the header: matching `kid` (or, without a kid, the only key fit for `alg`), of the key type the
   * algorithm needs, meant for signatures. Ambiguity is refused rather than guessed.
   */
  async #find(set: KeySet, header: { alg: string; kid?: string }): Promise<CryptoKey | undefined> {
    let match: number | undefined;
    for (let i = 0; i < set.keys.length; i++) {
      const jwk = set.keys[i]!;
      if (header.kid !== undefined && jwk.kid !== header.kid) continue;
      if (!fitsAlgorithm(jwk, header.alg)) continue;
      if (match !== undefined) return undefined;
      match = i;
    }
    if (match === undefined) return undefined;
    const cacheKey = `${match}:${header.alg}`;
    const cached = set.imported.get(cacheKey);
    if (cached) return cached;
    try {
      const imported = await importJWK(publicMembers(set.keys[match]!), header.alg);
      if (!(imported instanceof CryptoKey)) return undefined;
      set.imported.set(cacheKey, imported);
      return imported;
    } catch {
      return undefined; // a malformed key in the set is no key
    }
  }
}

/** The key type, curve, `use`, `key_ops` and `alg` of `jwk` all allow verifying `alg` signatures. */
function fitsAlgorithm(jwk: JWK, alg: string): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === 'Ed25519' && jwk.alg === 'EdDSA') && !(alg === 'EdDSA' && jwk.alg === 'Ed25519')) return false;
  switch (alg.slice(0, 2)) {
    case 'RS':
    case 'PS':
      return jwk.kty === 'RSA';
    case 'ES':
      return jwk.kty === 'EC' && jwk.crv === { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
    case 'Ed':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
    default:
      return false; // HMAC keys ("oct") are never taken from a key set
  }
}

/** Only the public members: a key set that leaks a private key must not turn it into a signing key here. */
function publicMembers(jwk: JWK): JWK {
  switch (jwk.kty) {
    case 'RSA':
      return { kty: 'RSA', n: jwk.n, e: jwk.e };
    case 'EC':
      return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
    default:
      return { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  }
}

/** The isolate's key sets. */
export const sharedJwksCache = new JwksCache();
