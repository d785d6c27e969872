/**
 * @module Sums of requests that can be added together: per minute in an isolate, per minute in a service's state
 * object, since creation in the object. Addition is the only operation, so any tier (isolate, regional object,
 * global object) can merge reports in any order and the figures stay exact.
 */

/**
 * Upper bounds of the latency histogram buckets, in ms; a last bucket (+Inf) follows. The same bounds are the
 * `le` labels (in seconds) of `/metrics`: changing them changes the sync protocol's version.
 */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000] as const;

/** HTTP methods kept as labels; anything else counts as `OTHER`, so a client cannot make new series. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE']);

/** The method as a bounded label. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'OTHER';
}

/** What one request contributes to the sums; made once per request at the recording point. */
export interface RequestSample {
  method: string;
  status: number;
  outcome: string;
  latencyMs: number;
  /** Time spent waiting for the origin (all attempts); undefined when no attempt was made. */
  upstreamMs: number | undefined;
  bytesIn: number;
  bytesOut: number;
}

// Type aliases, not interfaces: they cross the RPC boundary and are stored as JSON.
export type TrafficSums = {
  /** Request counts keyed `"<METHOD> <status>"`. */
  requests: Record<string, number>;
  /** Request counts keyed by outcome (`ok`, `upstream-error`, `rate-limited`...). */
  outcomes: Record<string, number>;
  /** Counts per bucket of {@link LATENCY_BUCKETS_MS} (not cumulative), the last one being +Inf. */
  latency: number[];
  latencySumMs: number;
  /** The same for the upstream time of requests that reached an origin. */
  upstream: number[];
  upstreamSumMs: number;
  bytesIn: number;
  bytesOut: number;
};

/** Sums keyed by the start of their minute (epoch ms, as a string: JSON object keys). */
export type MinuteSums = Record<string, TrafficSums>;

export function emptySums(): TrafficSums {
  const buckets = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  return { requests: {}, outcomes: {}, latency: buckets(), latencySumMs: 0, upstream: buckets(), upstreamSumMs: 0, bytesIn: 0, bytesOut: 0 };
}

export function minuteOf(ms: number): number {
  return ms - (ms % 60_000);
}

function bucketOf(ms: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
  return i;
}

/**
 * A 4xx the gateway answered itself (credentials, a body cut short or stalled, a rate limit...): the client's
 * doing. Such a request is counted, but kept out of the latency histograms, which describe the service's answers:
 * a client that stalls its upload for 30 s until it gets 408 must not read as a slow origin in p95, on the
 * dashboard or in the latency alert rules, and the time its attempt waited for the client's body is not the
 * origin's response time.
 */
function refusedForTheClient(sample: RequestSample): boolean {
  return sample.status < 500 && sample.outcome !== 'ok';
}

/** Adds one request to `sums`: counted always, timed unless the gateway refused it for the client's fault. */
export function addSample(sums: TrafficSums, sample: RequestSample): void {
  const key = `${methodLabel(sample.method)} ${sample.status}`;
  sums.requests[key] = (sums.requests[key] ?? 0) + 1;
  sums.outcomes[sample.outcome] = (sums.outcomes[sample.outcome] ?? 0) + 1;
  if (!refusedForTheClient(sample)) {
    const latency = Math.max(0, sample.latencyMs);
    sums.latency[bucketOf(latency)]! += 1;
    sums.latencySumMs += latency;
    if (sample.upstreamMs !== undefined) {
      const upstream = Math.max(0, sample.upstreamMs);
      sums.upstream[bucketOf(upstream)]! += 1;
      sums.upstreamSumMs += upstream;
    }
  }
  sums.bytesIn += sample.bytesIn;
  sums.bytesOut += sample.bytesOut;
}

/** Adds `from` into `into`. */
export function addSums(into: TrafficSums, from: TrafficSums): TrafficSums {
  for (const [key, n] of Object.entries(from.requests)) into.requests[key] = (into.requests[key] ?? 0) + n;
  for (const [key, n] of Object.entries(from.outcomes)) into.outcomes[key] = (into.outcomes[key] ?? 0) + n;
  // A report from a peer with other bucket bounds would be wrong in every bucket; lengths are checked by the caller.
  from.latency.forEach((n, i) => (into.latency[i] = (into.latency[i] ?? 0) + n));
  from.upstream.forEach((n, i) => (into.upstream[i] = (into.upstream[i] ?? 0) + n));
  into.latencySumMs += from.latencySumMs;
  into.upstreamSumMs += from.upstreamSumMs;
  into.bytesIn += from.bytesIn;
  into.bytesOut += from.bytesOut;
  return into;
}

/** Adds every minute of `from` into `into`. */
export function addMinuteSums(into: MinuteSums, from: MinuteSums): MinuteSums {
  for (const [minute, sums] of Object.entries(from)) into[minute] = addSums(into[minute] ?? emptySums(), sums);
  return into;
}

/** True when `sums` has the shape this version writes (same bucket count): what a state object accepts. */
export function isCompatible(sums: TrafficSums): boolean {
  return sums.latency?.length === LATENCY_BUCKETS_MS.length + 1 && sums.upstream?.length === LATENCY_BUCKETS_MS.length + 1;
}

export function totalRequests(sums: TrafficSums): number {
  let total = 0;
  for (const n of Object.values(sums.requests)) total += n;
  return total;
}

/**
 * Requests in the latency figures: all but the gateway's own 4xx refusals (see addSample). The denominator of the
 * error rate too: a flood of refused tokens must not dilute an origin's failures until no error-rate rule fires.
 */
export function timedRequestCount(sums: TrafficSums): number {
  let timed = 0;
  for (const n of sums.latency) timed += n;
  return timed;
}

/** 5xx answers, whether the origin's or the gateway's own (timeout, unreachable, breaker open). */
export function errorCount(sums: TrafficSums): number {
  let errors = 0;
  for (const [key, n] of Object.entries(sums.requests)) if (Number(key.slice(key.indexOf(' ') + 1)) >= 500) errors += n;
  return errors;
}

export function rateLimitedCount(sums: TrafficSums): number {
  return sums.outcomes['rate-limited'] ?? 0;
}

/**
 * The q-quantile (0–1) estimated from bucket counts by linear interpolation inside the bucket, as Prometheus'
 * `histogram_quantile` does; the +Inf bucket answers with the highest finite bound. Null when there are no counts.
 */
export function quantileMs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i]!;
    if (seen + count >= rank && count > 0) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return lower + (upper - lower) * ((rank - seen) / count);
    }
    seen += count;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}
