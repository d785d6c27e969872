/**
 * @module Attempts waiting for an origin's response headers, so that one whose request the runtime dropped still
 * gives back what it holds. When a client disconnects, Workers cancels the request's pending work unless it was
 * registered with `waitUntil`: an attempt cancelled while it waits never lowers its instance's in-flight count nor
 * releases the request's concurrency slot. Registering every request's forward with `waitUntil` kept it alive, but
 * cost 0.04–0.07 of the pass-through's throughput (paired wrk rounds, docs/performance.md: the runtime drains a
 * request that has one before it lets go of it). A bodiless request's attempts are noted here instead, and one still
 * waiting well after its timeout (its own timer would have ended it) is given up for abandoned by a later request of
 * the isolate.
 */
import type { InstanceState } from '../balancing/instance-state.ts';

/**
 * How long after its timeout a waiting attempt counts as abandoned: its own timer ends a live attempt at its timeout,
 * so only an isolate stalled this long could give up a live one (and then nothing is counted twice, see `ended`).
 */
export const ABANDONED_AFTER_MS = 10_000;

/** Abandoned attempts are looked for at most this often: a request pays one comparison otherwise. */
const SWEEP_INTERVAL_MS = 1_000;

/** One attempt of a request, holding a unit of its instance's in-flight count and, through `release`, its slot. */
export interface WaitingAttempt {
  /** Epoch ms by which the attempt's own timer has ended it. */
  readonly endsBy: number;
  readonly instance: InstanceState;
  /** Gives back what the request holds (its concurrency slot); counts once, however often it is called. */
  readonly release: (() => void) | undefined;
}

export class WaitingAttempts {
  readonly #waiting = new Set<WaitingAttempt>();
  #nextSweepAt = 0;

  /** Attempts noted and not yet ended or given up. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Notes an attempt that has just raised `instance`'s in-flight count and will have ended by `endsBy`. */
  wait(endsBy: number, instance: InstanceState, release: (() => void) | undefined): WaitingAttempt {
    const attempt: WaitingAttempt = { endsBy, instance, release };
    this.#waiting.add(attempt);
    return attempt;
  }

  /**
   * The attempt's continuation ran (it got an answer, a failure or its timeout). False when it had already been
   * given up for abandoned: its in-flight unit was given back then, so the caller takes it again (the slot's release
   * counts once anyway).
   */
  ended(attempt: WaitingAttempt): boolean {
    return this.#waiting.delete(attempt);
  }

  /** Gives back what every abandoned attempt holds; looks at most once per {@link SWEEP_INTERVAL_MS}. */
  sweep(now: number): void {
    if (now < this.#nextSweepAt) return;
    this.#nextSweepAt = now + SWEEP_INTERVAL_MS;
    for (const attempt of this.#waiting) {
      if (now < attempt.endsBy + ABANDONED_AFTER_MS) continue;
      this.#waiting.delete(attempt);
      attempt.instance.inFlight -= 1;
      attempt.release?.();
    }
  }
}

/**
 * The isolate's waiting attempts, across configuration versions (a version's pools are replaced, the requests they
 * hold and the concurrency gates are not).
 */
export const waitingAttempts = new WaitingAttempts();
