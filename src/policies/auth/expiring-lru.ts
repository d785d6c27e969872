/** @module A bounded map whose entries expire: the per-isolate cache of verified tokens, introspections, key lookups. */

interface Entry<V> {
  value: V;
  /** Epoch ms after which the entry is gone. */
  expiresAt: number;
}

/**
 * Least-recently-used map with a per-entry expiry. A `Map` keeps insertion order, so re-inserting on a hit makes the
 * first key the least recently used one, and eviction is O(1).
 *
 * @example
 * const cache = new ExpiringLru<string>(2);
 * cache.set('a', 'x', Date.now() + 1000);
 * cache.get('a', Date.now()); // 'x'
 */
export class ExpiringLru<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value under `key` unless it has expired at `now`. */
  get(key: string, now: number): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAt` (epoch ms); does nothing when that is not in the future or the cache is off. */
  set(key: string, value: V, expiresAt: number, now: number): void {
    if (this.#maxEntries === 0 || expiresAt <= now) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
