/**
 * @module Workers Analytics Engine: the one function that writes a request's data point, so the field layout
 * (docs/analytics.md) cannot drift. Positions are part of the stored data's meaning: only ever append.
 */
import type { RequestRecord } from './request-record.ts';

/** Name of the data set's layout version, blob 8: queries filter on it when the layout grows. */
export const REQUEST_POINT_LAYOUT = 'request.v1';

/**
 * index1 = service; blob1 service, blob2 route id, blob3 method, blob4 outcome, blob5 instance, blob6 colo,
 * blob7 status class (`2xx`...), blob8 layout; double1 status, double2 total latency ms, double3 upstream latency ms
 * (0 when no attempt), double4 request bytes, double5 response bytes, double6 attempts.
 */
export function requestDataPoint(record: RequestRecord): AnalyticsEngineDataPoint {
  return {
    indexes: [record.service],
    blobs: [
      record.service,
      record.routeId,
      record.method,
      record.outcome,
      record.instance,
      record.colo,
      `${Math.floor(record.status / 100)}xx`,
      REQUEST_POINT_LAYOUT,
    ],
    doubles: [record.status, record.latencyMs, record.upstreamMs ?? 0, record.bytesIn, record.bytesOut, record.attempts],
  };
}

/** Writes one request's data point. Not awaited: the runtime sends it after the response. */
export function writeRequestDataPoint(dataset: AnalyticsEngineDataset, record: RequestRecord): void {
  try {
    dataset.writeDataPoint(requestDataPoint(record));
  } catch (error) {
    // A metrics write must never fail a request; say so once per occurrence in the logs.
    console.error(JSON.stringify({ level: 'error', message: 'analytics engine write failed', error: String(error) }));
  }
}
