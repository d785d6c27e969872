/**
 * @module Circuit-breaker state machine (Resilience4j semantics), with time passed in so it can be tested on a
 * controlled clock. The ServiceState Durable Object keeps one per service and feeds it batched outcomes.
 */

export interface BreakerPolicy {
  /** Open when at least this share of the calls in the window failed (0–1)... */
  failureRateThreshold: number;
  /** ...over this many seconds... */
  slidingWindowSeconds: number;
  /** ...provided the window holds at least this many calls. */
  minimumCalls: number;
  /** Also open after this many failures in a row (0: never on this count alone). */
  consecutiveFailures: number;
  /** How long the breaker stays open before it lets probes through. */
  openMs: number;
  /** Probes admitted while half-open; all must succeed to close. */
  halfOpenProbes: number;
}

/** Probes granted this long ago without a report are given out again. */
export const STUCK_PROBE_MS = 30_000;

export type BreakerStateName = 'closed' | 'open' | 'half-open';

/** Outcomes of one isolate's calls since its last report, in the order they happened. */
export interface OutcomeBatch {
  calls: number;
  failures: number;
  /** Failures at the end of the batch, after its last success. */
  trailingFailures: number;
  /** Whether the batch holds any success (which ends a run of failures). */
  hadSuccess: boolean;
}

export interface BreakerEvent {
  at: number;
  from: BreakerStateName;
  to: BreakerStateName;
  reason: string;
}

/** The persisted state: plain data, so it round-trips through storage as JSON. */
export interface BreakerData {
  state: BreakerStateName;
  since: number;
  /** When open: the time probes may start. */
  openUntil: number;
  /** How many times the breaker has opened. */
  openCount: number;
  consecutiveFailures: number;
  /** Time-based sliding window: [epoch second, calls, failures]. */
  window: [number, number, number][];
  probesGranted: number;
  probeSuccesses: number;
}

export function newBreakerData(now: number): BreakerData {
  return { state: 'closed', since: now, openUntil: 0, openCount: 0, consecutiveFailures: 0, window: [], probesGranted: 0, probeSuccesses: 0 };
}

/**
 * The breaker as an operator sees it (the admin API's service status): state, counts and failure rate. Not the
 * request path's decision, which is the client's `BreakerView` (src/state/clients/service-state-client.ts).
 */
export interface BreakerStatus {
  state: BreakerStateName;
  since: number;
  openUntil: number;
  openCount: number;
  calls: number;
  failures: number;
  failureRate: number;
  consecutiveFailures: number;
}

export class CircuitBreakerMachine {
  readonly data: BreakerData;

  constructor(data: BreakerData) {
    this.data = data;
  }

  /** The state at `now`: an open breaker whose wait is over becomes half-open. */
  advance(now: number): BreakerEvent[] {
    const { data } = this;
    if (data.state === 'open' && now >= data.openUntil) return [this.#to('half-open', now, 'wait time over: admitting probes')];
    // A probe that never reported (its isolate went away) must not wedge the breaker half-open.
    if (data.state === 'half-open' && data.probesGranted > 0 && now - data.since >= STUCK_PROBE_MS) {
      data.probesGranted = data.probeSuccesses;
      data.since = now;
    }
    return [];
  }

  /** Counts a batch of ordinary (non-probe) outcomes; may open the breaker. */
  record(now: number, policy: BreakerPolicy, batch: OutcomeBatch): BreakerEvent[] {
    const events = this.advance(now);
    const { data } = this;
    if (data.state !== 'closed' || batch.calls === 0) return events;
    data.consecutiveFailures = batch.hadSuccess ? batch.trailingFailures : data.consecutiveFailures + batch.failures;
    const second = Math.floor(now / 1000);
    const last = data.window.at(-1);
    if (last && last[0] === second) {
      last[1] += batch.calls;
      last[2] += batch.failures;
    } else {
      data.window.push([second, batch.calls, batch.failures]);
    }
    this.#prune(now, policy);
    if (policy.consecutiveFailures > 0 && data.consecutiveFailures >= policy.consecutiveFailures) {
      events.push(this.#open(now, policy, `${data.consecutiveFailures} consecutive failures`));
      return events;
    }
    const { calls, failures } = this.#totals();
    if (calls >= policy.minimumCalls && failures / calls >= policy.failureRateThreshold) {
      const percent = Math.round((failures / calls) * 100);
      events.push(this.#open(now, policy, `failure rate ${percent}% over ${calls} calls in ${policy.slidingWindowSeconds} s`));
    }
    return events;
  }

  /** Asks for a probe permit; granted only while half-open and fewer than `halfOpenProbes` are out. */
  tryProbe(now: number, policy: BreakerPolicy): { granted: boolean; events: BreakerEvent[] } {
    const events = this.advance(now);
    const { data } = this;
    if (data.state !== 'half-open' || data.probesGranted >= policy.halfOpenProbes) return { granted: false, events };
    data.probesGranted += 1;
    return { granted: true, events };
  }

  /** The outcome of a probe: one failure reopens, `halfOpenProbes` successes close. */
  recordProbe(now: number, policy: BreakerPolicy, success: boolean): BreakerEvent[] {
    const events = this.advance(now);
    const { data } = this;
    if (data.state !== 'half-open') return events;
    if (!success) {
      events.push(this.#open(now, policy, 'a probe failed'));
    } else if (++data.probeSuccesses >= policy.halfOpenProbes) {
      events.push(this.#to('closed', now, `${data.probeSuccesses} probes succeeded`));
    }
    return events;
  }

  /** Closes the breaker at an operator's request. */
  reset(now: number, reason: string): BreakerEvent[] {
    return this.data.state === 'closed' && this.data.window.length === 0 ? [] : [this.#to('closed', now, reason)];
  }

  view(now: number, policy: BreakerPolicy): BreakerStatus {
    this.advance(now);
    this.#prune(now, policy);
    const { calls, failures } = this.#totals();
    const { state, since, openUntil, openCount, consecutiveFailures } = this.data;
    return { state, since, openUntil, openCount, calls, failures, failureRate: calls ? failures / calls : 0, consecutiveFailures };
  }

  #open(now: number, policy: BreakerPolicy, reason: string): BreakerEvent {
    const event = this.#to('open', now, reason);
    this.data.openUntil = now + policy.openMs;
    this.data.openCount += 1;
    return event;
  }

  #to(state: BreakerStateName, now: number, reason: string): BreakerEvent {
    const { data } = this;
    const event: BreakerEvent = { at: now, from: data.state, to: state, reason };
    data.state = state;
    data.since = now;
    data.probesGranted = 0;
    data.probeSuccesses = 0;
    if (state === 'closed') {
      data.window = [];
      data.consecutiveFailures = 0;
    }
    return event;
  }

  #prune(now: number, policy: BreakerPolicy): void {
    const oldest = Math.floor(now / 1000) - policy.slidingWindowSeconds;
    while (this.data.window.length > 0 && this.data.window[0]![0] <= oldest) this.data.window.shift();
  }

  #totals(): { calls: number; failures: number } {
    let calls = 0;
    let failures = 0;
    for (const [, c, f] of this.data.window) {
      calls += c;
      failures += f;
    }
    return { calls, failures };
  }
}
