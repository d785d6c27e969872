/** @module The live answer of `GET /metrics/json` (shape: metrics-json.ts) from the state objects' per-minute sums. */
import { breakerStateOf, instanceHealthy, type CollectedMetrics } from './collect-metrics.ts';
import type { MetricsJson, MinutePoint, ServiceMetrics } from './metrics-json.ts';
import { errorCount, quantileMs, rateLimitedCount, timedRequestCount, totalRequests, type TrafficSums } from './traffic-sums.ts';

export function minutePoint(at: number, sums: TrafficSums): MinutePoint {
  const requests = totalRequests(sums);
  const errors = errorCount(sums);
  const timed = timedRequestCount(sums);
  return {
    at,
    requests,
    requestsPerSecond: requests / 60,
    errorRate: timed === 0 ? null : errors / timed,
    errors,
    timedRequests: timed,
    rateLimited: rateLimitedCount(sums),
    p50Ms: quantileMs(sums.latency, 0.5),
    p95Ms: quantileMs(sums.latency, 0.95),
    p99Ms: quantileMs(sums.latency, 0.99),
    bytesIn: sums.bytesIn,
    bytesOut: sums.bytesOut,
  };
}

/**
 * The answer from live state; `history`, when given, replaces each service's series (source `analytics`), the
 * breaker and instance states staying live.
 */
export function renderMetricsJson(metrics: CollectedMetrics, rangeMinutes: number, history?: Map<string, MinutePoint[]>): MetricsJson {
  const services = metrics.services.map((figures): ServiceMetrics => {
    const series = history?.get(figures.service) ?? figures.traffic.minutes.map(({ at, sums }) => minutePoint(at, sums));
    const totals = { requests: 0, errors: 0, timedRequests: 0, rateLimited: 0, bytesIn: 0, bytesOut: 0 };
    for (const point of series) {
      totals.requests += point.requests;
      totals.errors += point.errors;
      totals.timedRequests += point.timedRequests;
      totals.rateLimited += point.rateLimited;
      totals.bytesIn += point.bytesIn;
      totals.bytesOut += point.bytesOut;
    }
    return {
      service: figures.service,
      breaker: breakerStateOf(figures, metrics.at),
      instances: figures.instances.map((id) => {
        const status = figures.status.instances.find((entry) => entry.id === id);
        return {
          id,
          ejected: (status?.ejectedUntil ?? 0) > metrics.at,
          inFlight: status?.inFlight ?? 0,
          healthy: instanceHealthy(figures, id, metrics.at),
        };
      }),
      totals,
      series,
    };
  });
  return { generatedAt: metrics.at, source: history ? 'analytics' : 'live', rangeMinutes, services };
}
