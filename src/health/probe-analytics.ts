/**
 * @module The one function that writes a probe outcome to Analytics Engine, so field positions never drift.
 * Index: the service. Blobs: service, instance, outcome ("pass" | "fail"), error. Doubles: latency ms, HTTP status
 * (0: no answer), passed (1 | 0). Locally (`wrangler dev`, tests) the dataset drops the points; production queries
 * count with SUM(_sample_interval). The layout is in docs/storage.md.
 */
import type { ProbeResult } from './probe.ts';

export function recordProbeOutcome(dataset: AnalyticsEngineDataset | undefined, service: string, result: ProbeResult): void {
  dataset?.writeDataPoint({
    indexes: [service],
    blobs: [service, result.instance, result.ok ? 'pass' : 'fail', result.error ?? ''],
    doubles: [result.latencyMs, result.status ?? 0, result.ok ? 1 : 0],
  });
}
