/** @module The one way the gateway calls a Durable Object: bounded in time, retried only when that is safe. */
import { statePlaneCounters, type StateCall } from '../infra/state-plane-metrics.ts';

/** A call that did not answer within its time limit. Not retried: the object may still act on it. */
export class StateCallTimeout extends Error {
  override readonly name = 'StateCallTimeout';
}

/**
 * A call not made: the same object failed a moment ago and its caller is backing off. The policy decides from
 * its failOpen at once instead of adding a call (and maybe its timeout) to every request of an outage.
 */
export class StateBackoff extends Error {
  override readonly name = 'StateBackoff';
}

export interface CallOptions {
  /** What the call is for, for the counters. */
  kind: StateCall;
  /** Whether the request waits for it (else it runs under waitUntil). */
  background?: boolean;
  /** Time limit per attempt. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  attempts?: number;
  /** First backoff; doubled per retry, with ±50% jitter. */
  baseDelayMs?: number;
}

/**
 * Calls `operation` on a fresh stub from `stub()`, retrying only errors the runtime marks `retryable` and not
 * `overloaded` (retrying an overloaded object makes it worse), with jittered exponential backoff. A new stub is
 * made for each attempt: a stub that threw may be broken for good.
 *
 * @example await callDurableObject(() => env.RATE_LIMITS.getByName(key), (s) => s.acquire(...), { kind: 'rate-limit-lease', timeoutMs: 1000 })
 */
export async function callDurableObject<S, T>(
  stub: () => S,
  operation: (stub: S) => Promise<T>,
  options: CallOptions,
): Promise<T> {
  const attempts = options.attempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 25;
  (options.background ? statePlaneCounters.backgroundCalls : statePlaneCounters.synchronousCalls)[options.kind] += 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTimeout(operation(stub()), options.timeoutMs);
    } catch (error) {
      const retryable = (error as { retryable?: boolean }).retryable === true && (error as { overloaded?: boolean }).overloaded !== true;
      if (!retryable || attempt >= attempts) {
        statePlaneCounters.failures[options.kind] += 1;
        throw error;
      }
      statePlaneCounters.retries += 1;
      const delay = baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StateCallTimeout(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
