/** @module What isolates and a ServiceState object exchange. */
import type { BreakerPolicy, BreakerStateName, BreakerStatus, OutcomeBatch } from '../machines/breaker-machine.ts';
import type { EjectionPolicy } from '../machines/outlier-ejection.ts';
import type { MinuteSums } from '../../observability/traffic-sums.ts';
import type { TraceRecord } from '../../observability/trace-sampling.ts';

/**
 * Version of the report's traffic part. 2: per-minute sums (`traffic`) with sequence numbers, so a batch whose
 * call failed is sent again inside the next report and counted once. Bump it with the histogram's bucket bounds.
 */
export const SYNC_PROTOCOL_VERSION = 2;

/** Per-minute sums of requests an isolate recorded, numbered per isolate so the object counts each once. */
export interface TrafficBatch {
  seq: number;
  minutes: MinuteSums;
}

export interface ServiceStatePolicy {
  /** Absent: the service has no breaker. */
  breaker?: BreakerPolicy;
  ejection: EjectionPolicy;
  /** Ids of the service's instances now. */
  instances: string[];
}

export interface InstanceReport extends OutcomeBatch {
  /** This isolate's requests to the instance in flight right now. */
  inFlight: number;
  latencySumMs: number;
}

/** One isolate's report since its previous one. */
export interface SyncReport {
  isolateId: string;
  policy: ServiceStatePolicy;
  /** Outcomes across the service, in order, for the breaker. */
  service: OutcomeBatch;
  instances: Record<string, InstanceReport>;
  /** Absent from version-1 senders. */
  version?: number;
  /** The service's name, so the object can name itself in summaries. */
  serviceName?: string;
  /** Sums not yet acknowledged, oldest first: the current batch and any whose call failed. */
  traffic?: TrafficBatch[];
  /** Traces kept since the last report (bounded), and how many the object should keep for the service. */
  traces?: TraceRecord[];
  tracesKept?: number;
}

/** What every isolate needs to know about the service, as of `at`. */
export interface ServiceSnapshot {
  at: number;
  breaker: { state: BreakerStateName; openUntil: number };
  /** Ejected instances and until when. */
  ejected: Record<string, number>;
  /** Requests in flight per instance, summed over every isolate that reported recently. */
  inFlight: Record<string, number>;
  /** Shared peak-EWMA latency per instance, in ms. */
  rttMs: Record<string, number>;
  /** Highest traffic batch of the reporting isolate the object has counted; the isolate drops batches up to it. */
  trafficAckedSeq?: number;
  /** Instances failing their active health checks: out of rotation until they pass again (src/health/). */
  unhealthy?: string[];
}

// A type alias, not an interface: rows read from SQLite must be plain records.
export type StateEvent = {
  at: number;
  kind: 'breaker-opened' | 'breaker-half-open' | 'breaker-closed' | 'instance-ejected' | 'instance-returned';
  instance: string | null;
  detail: string;
};

export interface InstanceStatus {
  id: string;
  inFlight: number;
  rttMs: number | null;
  ejectedUntil: number | null;
  timesEjected: number;
  consecutiveFailures: number;
}

/** Everything an operator wants to see about one service's shared state. */
export interface ServiceStatus {
  breaker: (BreakerStatus & { enabled: boolean }) | null;
  instances: InstanceStatus[];
  /** Isolates that reported within the last few sync intervals. */
  reportingIsolates: number;
  events: StateEvent[];
}
