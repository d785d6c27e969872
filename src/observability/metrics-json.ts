/**
 * @module The shape of `GET /metrics/json`: per service, per-minute series over a range plus the current state.
 * The contract between the read plane, which answers it, and the dashboard, which draws it.
 */

/** One minute of one service's global traffic. Rates are per second over the minute. */
export interface MinutePoint {
  /** Start of the minute, epoch ms (UTC). */
  at: number;
  requests: number;
  requestsPerSecond: number;
  /** 5xx answers and gateway-made failures over the timed requests, 0–1; null when the minute has none. */
  errorRate: number | null;
  errors: number;
  /** Requests in the latency figures and the error rate: all but the gateway's own 4xx refusals (the client's doing). */
  timedRequests: number;
  rateLimited: number;
  /** Total latency at the gateway, estimated from the histogram; null when the minute has no timed request (none, or only the gateway's own 4xx refusals). */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  bytesIn: number;
  bytesOut: number;
}

export interface ServiceMetrics {
  service: string;
  breaker: 'closed' | 'open' | 'half-open' | 'disabled' | 'unknown';
  instances: { id: string; ejected: boolean; inFlight: number; healthy: boolean | null }[];
  /** Sums over the whole range. */
  totals: { requests: number; errors: number; timedRequests: number; rateLimited: number; bytesIn: number; bytesOut: number };
  /** Oldest first, one point per minute of the range (minutes without traffic have zero counts and null ratios). */
  series: MinutePoint[];
}

export interface MetricsJson {
  /** Epoch ms when the answer was made. */
  generatedAt: number;
  /** `live`: the state objects' per-minute sums; `analytics`: Workers Analytics Engine through SQL. */
  source: 'live' | 'analytics';
  rangeMinutes: number;
  services: ServiceMetrics[];
}
