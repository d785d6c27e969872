/**
 * @module When an isolate talks to its region's tier object and when it goes to the global object directly: after
 * a call to the region object fails, the isolate calls the global object for a while (the backoff), then tries
 * its region again. The tier is an optimisation; it must never be what takes a service down.
 */

export class RegionFailover {
  #directUntil = 0;
  readonly #backoffMs: number;

  constructor(backoffMs: number) {
    this.#backoffMs = backoffMs;
  }

  /** Whether to call the region's object at `now` (else the global one). */
  useRegion(now: number): boolean {
    return now >= this.#directUntil;
  }

  /** A call to the region's object failed at `now`: go direct for the backoff. */
  failed(now: number): void {
    this.#directUntil = now + this.#backoffMs;
  }
}
