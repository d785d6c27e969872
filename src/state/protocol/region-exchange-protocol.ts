/**
 * @module What an isolate and its region's tier object exchange (docs/scale.md, "one call per isolate"): one call
 * per isolate per sync period carries every service's report that is due and any rate-limit lease the isolate
 * needs, and brings back a snapshot per service and the leases. The cost per isolate is then one call, not one
 * per service it serves.
 */
import type { AcquireResult, BucketPolicy, LeaseReturn } from '../machines/token-bucket.ts';
import type { ServiceSnapshot, SyncReport } from './service-state-protocol.ts';

/** A lease an isolate asks of a rate-limit bucket (`bucketKey`, as the global bucket object is named). */
export interface LeaseAsk {
  bucketKey: string;
  policy: BucketPolicy;
  want: number;
  /** The isolate's spent and expired leases of this bucket, handed back. */
  returned: LeaseReturn[];
}

export interface RegionExchangeRequest {
  isolateId: string;
  /** One report per service (each with its `serviceName`), at most one per service. */
  reports: SyncReport[];
  leases: LeaseAsk[];
}

/** The region could not answer this part (no snapshot or block, and the global object failed): go direct. */
export interface RegionPartFailed {
  failed: true;
  /** The global object was overloaded: the isolate must not move the load onto it (the policy decides). */
  overloaded: boolean;
}

export interface RegionExchangeAnswer {
  /** Aligned with the request's reports. */
  snapshots: (ServiceSnapshot | RegionPartFailed)[];
  /** Aligned with the request's leases. */
  leases: (AcquireResult | RegionPartFailed)[];
}

/** The settings a region object needs with each call (the isolate passes its configuration's values). */
export interface RegionCallSettings {
  /** `gateway.statePlane.callTimeoutMs`. */
  callTimeoutMs: number;
  /** `gateway.statePlane.syncIntervalMs`: the region reports a service with failures to its global object at most this often. */
  syncIntervalMs: number;
  /** `gateway.statePlane.tier.blockFactor`. */
  blockFactor: number;
}

export function isPartFailed(part: object): part is RegionPartFailed {
  return (part as Partial<RegionPartFailed>).failed === true;
}
