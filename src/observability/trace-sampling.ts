/** @module Which requests' traces the gateway keeps, and the record it keeps of them. */
import type { RequestRecord } from './request-record.ts';
import type { Span } from './request-spans.ts';
import type { ObservabilitySettings } from './settings.ts';

// A type alias: it crosses the RPC boundary and is stored as JSON.
export type TraceRecord = {
  traceId: string;
  /** The gateway's span id: the parent id the origin saw in `traceparent`. */
  spanId: string;
  requestId: string;
  service: string;
  route: string;
  method: string;
  status: number;
  outcome: string;
  /** Epoch ms. */
  start: number;
  durationMs: number;
  /** Why it was kept: `parent` (the caller sampled it), `error`, `slow` or `sampled`. */
  kept: 'parent' | 'error' | 'slow' | 'sampled';
  spans: Span[];
};

/**
 * Parent-based: a caller's `traceparent` with the sampled flag is always kept; so is every 5xx and every request
 * slower than `slowMs`; the rest at `sampleRate`. `random` is in [0, 1).
 */
export function keepReason(
  record: Pick<RequestRecord, 'status' | 'latencyMs'>,
  parentSampled: boolean,
  settings: ObservabilitySettings['traces'],
  random: number,
): TraceRecord['kept'] | undefined {
  if (parentSampled) return 'parent';
  if (record.status >= 500) return 'error';
  if (record.latencyMs >= settings.slowMs) return 'slow';
  return random < settings.sampleRate ? 'sampled' : undefined;
}
