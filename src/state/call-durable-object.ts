/** @module The one way the gateway calls a Durable Object stub: retries only what the runtime says is retryable. */

export interface CallOptions {
  /** Tries in all, the first included. */
  attempts?: number;
  /** Upper bound of the first backoff; it doubles per retry, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** For tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `operation`, retrying when the error says `retryable` and not `overloaded`, with full-jitter exponential
 * backoff. `operation` must create its stub itself: after an exception the old stub may be broken, and a new one
 * is cheap. Only idempotent operations belong here, since a retried call may have run once already.
 *
 * Why not retry an overloaded object: it is overloaded because of calls like this one; more would only deepen it.
 *
 * @example await callDurableObject(() => env.API_KEYS.getByName('api-keys-a').findByHash(hash))
 */
export async function callDurableObject<T>(operation: () => Promise<T>, options: CallOptions = {}): Promise<T> {
  const { attempts = 3, baseDelayMs = 50, maxDelayMs = 1_000, sleep = defaultSleep } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await sleep(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

function isRetryable(error: unknown): boolean {
  const flags = error as { retryable?: unknown; overloaded?: unknown } | null;
  return typeof flags === 'object' && flags !== null && flags.retryable === true && flags.overloaded !== true;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
