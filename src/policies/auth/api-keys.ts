/** @module API keys for machine clients: their format, hashing and sharding, and the cached lookup on the request path. */
import type { ApiKeyRecord } from '../../../durable-objects/api-key-store.ts';
import type { AuthSettings } from '../../config/schema.ts';
import type { Env, Identity } from '../../env.ts';
import { callDurableObject } from '../../state/clients/call-durable-object.ts';
import { crc32 } from './crc32.ts';
import { sha256Hex } from './digest.ts';
import { ExpiringLru } from './expiring-lru.ts';
import { FailedAuthLimiter } from './failed-auth-limiter.ts';
import { TokenRejected } from './token-format.ts';

/**
 * `egw_`, 32 random bytes in base64url (256 bits, so a plain SHA-256 of the key is a safe thing to store), then
 * the CRC-32 of all that in base64url (6 characters), so a random or mistyped string is refused without a lookup.
 */
export const API_KEY_PREFIX = 'egw_';
const API_KEY = /^egw_[A-Za-z0-9_-]{49}$/;
/** Keys minted before checksums: `egw_` and 43 characters. Accepted while `apiKeys.legacyKeys` is "accept". */
const LEGACY_API_KEY = /^egw_[A-Za-z0-9_-]{43}$/;
const CHECKSUM_LENGTH = 6;
/** `ak_` + the key's shard (one hex digit) + 16 random hex digits: the id names where the key is stored. */
const API_KEY_ID = /^ak_[0-9a-f]{17}$/;
const CACHE_ENTRIES = 10_000;

/** The key store could not be reached: authentication fails closed (503), never open. */
export class ApiKeyStoreUnavailable extends Error {
  override readonly name = 'ApiKeyStoreUnavailable';
}

/**
 * Too many failed authentications from this client address lately: refused before any lookup (429).
 */
export class TooManyFailedAuthentications extends Error {
  override readonly name = 'TooManyFailedAuthentications';
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(`too many failed authentications; retry after ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The base64url CRC-32 that ends a key whose other characters are `body`. */
function checksumOf(body: string): string {
  const sum = crc32(new TextEncoder().encode(body));
  return base64url(new Uint8Array([sum >>> 24, (sum >>> 16) & 0xff, (sum >>> 8) & 0xff, sum & 0xff]));
}

/** Whether `key` has the shape of a key this gateway mints and a checksum that verifies. */
function isWellFormedKey(key: string, legacyKeys: 'accept' | 'reject'): boolean {
  if (API_KEY.test(key)) return checksumOf(key.slice(0, -CHECKSUM_LENGTH)) === key.slice(-CHECKSUM_LENGTH);
  return legacyKeys === 'accept' && LEGACY_API_KEY.test(key);
}

/** A new key and where it lives. The plaintext `key` is shown once and never stored. */
export async function generateApiKey(): Promise<{ key: string; keyHash: string; id: string; shard: string; hint: string }> {
  const random = crypto.getRandomValues(new Uint8Array(40));
  const body = `${API_KEY_PREFIX}${base64url(random.subarray(0, 32))}`;
  const key = body + checksumOf(body);
  const keyHash = await sha256Hex(key);
  const shard = keyHash[0]!;
  const id = `ak_${shard}${[...random.subarray(32)].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  return { key, keyHash, id, shard, hint: key.slice(0, API_KEY_PREFIX.length + 4) };
}

/** Name of the shard object that holds keys whose hash starts with `shard`. */
export function shardName(shard: string): string {
  return `api-keys-${shard}`;
}

/** Every shard name, for listing. */
export const ALL_SHARDS: readonly string[] = [...'0123456789abcdef'];

/** The shard an id lives in, or undefined when it is not an API key id. */
export function shardOfId(id: string): string | undefined {
  return API_KEY_ID.test(id) ? id[3] : undefined;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * Resolves API keys on the request path. Lookups are cached per isolate, found keys for `cacheTtlSeconds` and
 * unknown ones for `negativeCacheTtlSeconds`, so most requests make no Durable Object call; a revoked key stops
 * working within `cacheTtlSeconds`. A key whose checksum does not verify is refused without a lookup, and a client
 * address with `maxFailuresPerAddress` failures in `failureWindowSeconds` gets no lookup at all: only a key this
 * isolate already holds as valid goes through from it. The limiter is there to keep guessing away from the store;
 * refusing keys that cost nothing to check would let one client behind a shared address (a NAT, a /64) lock out
 * everyone else there with about twenty bad keys a minute.
 */
export class ApiKeyResolver {
  readonly #cache = new ExpiringLru<ApiKeyRecord | null>(CACHE_ENTRIES);
  readonly #failures: FailedAuthLimiter;
  readonly #ttlMs: number;
  readonly #negativeTtlMs: number;
  readonly #legacyKeys: 'accept' | 'reject';

  constructor(settings: AuthSettings['apiKeys']) {
    this.#ttlMs = settings.cacheTtlSeconds * 1000;
    this.#negativeTtlMs = settings.negativeCacheTtlSeconds * 1000;
    this.#legacyKeys = settings.legacyKeys;
    this.#failures = new FailedAuthLimiter({ maxFailures: settings.maxFailuresPerAddress, windowSeconds: settings.failureWindowSeconds });
  }

  /**
   * Resolves `key` presented from `clientAddress` (unknown: not limited per address).
   *
   * @throws TooManyFailedAuthentications when the address failed too often lately.
   * @throws TokenRejected for a malformed, forged, unknown, revoked or expired key.
   * @throws ApiKeyStoreUnavailable when the store cannot be reached.
   */
  async resolve(key: string, env: Env, now = Date.now(), clientAddress?: string): Promise<{ record: ApiKeyRecord; identity: Identity }> {
    const lockedSeconds = clientAddress === undefined ? 0 : this.#failures.retryAfterSeconds(clientAddress, now);
    try {
      return await this.#resolve(key, env, now, lockedSeconds);
    } catch (error) {
      if (error instanceof TokenRejected && clientAddress !== undefined) this.#failures.recordFailure(clientAddress, now);
      throw error;
    }
  }

  /** `lockedSeconds` > 0: the address is locked out for that long, and only a key cached as valid goes through. */
  async #resolve(key: string, env: Env, now: number, lockedSeconds: number): Promise<{ record: ApiKeyRecord; identity: Identity }> {
    // The format and checksum checks cost nothing and keep garbage and forgeries away from the store.
    if (!isWellFormedKey(key, this.#legacyKeys)) {
      if (lockedSeconds > 0) throw new TooManyFailedAuthentications(lockedSeconds);
      throw new TokenRejected('invalid', 'not an API key');
    }
    const keyHash = await sha256Hex(key);
    let record = this.#cache.get(keyHash, now);
    // Locked out: no lookup, and no answer that tells a known-bad key from an unknown one.
    if (lockedSeconds > 0 && !record) throw new TooManyFailedAuthentications(lockedSeconds);
    if (record === undefined) {
      try {
        record = await callDurableObject(() => env.API_KEYS.getByName(shardName(keyHash[0]!)), (stub) => stub.findByHash(keyHash), {
          kind: 'api-key-lookup',
          timeoutMs: 1_000,
        });
      } catch (error) {
        console.error(JSON.stringify({ level: 'error', message: 'API key store unreachable', error: String(error) }));
        throw new ApiKeyStoreUnavailable(String(error));
      }
      this.#cache.set(keyHash, record, now + (record ? this.#ttlMs : this.#negativeTtlMs), now);
    }
    if (record === null) throw new TokenRejected('invalid', 'unknown or revoked API key');
    if (record.expiresAt !== null && now >= record.expiresAt) throw new TokenRejected('expired', 'API key expired');
    return {
      record,
      identity: {
        method: 'api-key',
        subject: record.consumer,
        consumerId: `api-key:${record.consumer}`,
        roles: [],
        scopes: record.scopes,
        claims: { api_key_id: record.id, api_key_name: record.name },
      },
    };
  }
}
