/**
 * @module Failed authentications per client address, counted in this isolate: an address that keeps presenting
 * bad API keys is refused before any lookup, so guessing keys costs the key store nothing after the first few.
 */
import { ExpiringLru } from './expiring-lru.ts';

/** Addresses tracked at once; the least recently seen are forgotten first. */
const MAX_ADDRESSES = 10_000;

interface Window {
  failures: number;
  /** Epoch ms when the window (and its count) ends. */
  endsAt: number;
}

/**
 * A fixed window per address that starts at its first failure. Per isolate, not global: an attacker spread over
 * many isolates gets `maxFailures` tries in each, still a small multiple, and no Durable Object call is spent to
 * count them.
 */
export class FailedAuthLimiter {
  readonly #windows = new ExpiringLru<Window>(MAX_ADDRESSES);
  readonly #maxFailures: number;
  readonly #windowMs: number;

  constructor(options: { maxFailures: number; windowSeconds: number }) {
    this.#maxFailures = options.maxFailures;
    this.#windowMs = options.windowSeconds * 1000;
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string, now: number): number {
    const window = this.#windows.get(address, now);
    if (window === undefined || window.failures < this.#maxFailures) return 0;
    return Math.max(1, Math.ceil((window.endsAt - now) / 1000));
  }

  /** Counts one failed authentication from `address` at `now`. */
  recordFailure(address: string, now: number): void {
    const window = this.#windows.get(address, now);
    if (window) window.failures += 1;
    else this.#windows.set(address, { failures: 1, endsAt: now + this.#windowMs }, now + this.#windowMs, now);
  }
}
