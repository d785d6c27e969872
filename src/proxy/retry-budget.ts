/** @module Retry budget: retries may add only a bounded share of load, so a struggling service is not stampeded. */

const WINDOW_SECONDS = 10;

/**
 * Finagle/Envoy-style budget over a sliding 10 s window: retries are allowed while
 * `retries < minPerSecond × 10 + ratio × requests`. With ratio 0.2, retries add at most 20% extra load.
 */
export class RetryBudget {
  readonly #requests = new Array<number>(WINDOW_SECONDS).fill(0);
  readonly #retries = new Array<number>(WINDOW_SECONDS).fill(0);
  #second = 0;
  readonly #ratio: number;
  readonly #minPerSecond: number;

  constructor(ratio: number, minPerSecond: number) {
    this.#ratio = ratio;
    this.#minPerSecond = minPerSecond;
  }

  recordRequest(now: number): void {
    this.#advance(now);
    this.#requests[this.#second % WINDOW_SECONDS]! += 1;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryAcquire(now: number): boolean {
    this.#advance(now);
    const requests = this.#requests.reduce((sum, n) => sum + n, 0);
    const retries = this.#retries.reduce((sum, n) => sum + n, 0);
    if (retries >= this.#minPerSecond * WINDOW_SECONDS + this.#ratio * requests) return false;
    this.#retries[this.#second % WINDOW_SECONDS]! += 1;
    return true;
  }

  #advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.#second) return;
    // Clear the buckets of the seconds that passed (all of them after a long pause).
    const steps = Math.min(second - this.#second, WINDOW_SECONDS);
    for (let i = 1; i <= steps; i++) {
      const slot = (this.#second + i) % WINDOW_SECONDS;
      this.#requests[slot] = 0;
      this.#retries[slot] = 0;
    }
    this.#second = second;
  }
}
