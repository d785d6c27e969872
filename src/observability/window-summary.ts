/**
 * @module What a service's state object can tell about a recent window of its global traffic. The contract between
 * the read plane (which keeps the per-minute sums that answer it) and the health plane (whose alert rules read it).
 */

/** One service's traffic over the last `windowSeconds`, summed over every isolate that reported. */
export interface WindowSummary {
  service: string;
  windowSeconds: number;
  /** Requests that ended in the window, whatever their outcome. */
  requests: number;
  /** 5xx answers from the origin and failures the gateway made itself (timeout, unreachable, breaker open). */
  errors: number;
  /** Requests in the latency figures below: all but the gateway's own 4xx refusals (traffic-sums.ts). */
  timedRequests: number;
  /** Requests refused with 429 by a rate limit. */
  rateLimited: number;
  /** Total latency at the gateway, estimated from the histogram; null when the window has no timed request. */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
}
