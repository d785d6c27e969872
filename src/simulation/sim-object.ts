/**
 * @module A simulated Durable Object: one thread in one location, serving one call at a time in arrival order,
 * each taking the service time measured for its kind of call. It counts, per second of simulated time, the calls
 * it started and the time it spent serving: the load figures the simulation reports.
 */

export class SimObject {
  readonly name: string;
  /** Index of the location it lives in. */
  readonly site: number;
  readonly tier: 'global' | 'region';
  busyUntil = 0;
  /** When set, every call fails (the tests' unreachable location object). */
  unreachable = false;
  /** Calls refused because the queue was longer than the callers' time limit. */
  refused = 0;
  readonly callsPerSecond: Float64Array;
  readonly busyMsPerSecond: Float64Array;

  constructor(name: string, site: number, tier: 'global' | 'region', seconds: number) {
    this.name = name;
    this.site = site;
    this.tier = tier;
    this.callsPerSecond = new Float64Array(seconds + 1);
    this.busyMsPerSecond = new Float64Array(seconds + 1);
  }

  /** Books `ms` of service starting at `start` (ms), split over the seconds it spans. */
  account(start: number, ms: number): void {
    const last = this.callsPerSecond.length - 1;
    this.callsPerSecond[Math.min(last, Math.floor(start / 1000))]! += 1;
    let at = start;
    let left = ms;
    while (left > 0) {
      const second = Math.floor(at / 1000);
      const inSecond = Math.min(left, (second + 1) * 1000 - at);
      this.busyMsPerSecond[Math.min(last, second)]! += inSecond;
      at += inSecond;
      left -= inSecond;
    }
  }
}
