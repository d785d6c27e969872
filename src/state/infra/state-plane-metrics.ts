/**
 * @module What the state plane costs and how it fails, counted per isolate: Durable Object round trips per
 * request is a headline figure, and every fail-open or fail-closed decision is an event someone should see.
 */

export type StateCall = 'rate-limit-lease' | 'breaker-probe' | 'service-sync' | 'config-poll' | 'api-key-lookup' | 'admin';
export type Policy = 'rate-limit' | 'circuit-breaker' | 'service-sync';

export interface StatePlaneCounters {
  /** Requests that went through the service chain. */
  requests: number;
  /** Durable Object calls made while a request waited for the answer. */
  synchronousCalls: Record<StateCall, number>;
  /** Durable Object calls made in the background (waitUntil). */
  backgroundCalls: Record<StateCall, number>;
  /** Calls that failed after their retries. */
  failures: Record<StateCall, number>;
  /** Retries of retryable errors. */
  retries: number;
  /** Requests admitted because a policy's state was unreachable and it fails open. */
  failedOpen: Record<Policy, number>;
  /** Requests refused because a policy's state was unreachable and it fails closed. */
  failedClosed: Record<Policy, number>;
}

const calls = (): Record<StateCall, number> => ({
  'rate-limit-lease': 0,
  'breaker-probe': 0,
  'service-sync': 0,
  'config-poll': 0,
  'api-key-lookup': 0,
  admin: 0,
});
const policies = (): Record<Policy, number> => ({ 'rate-limit': 0, 'circuit-breaker': 0, 'service-sync': 0 });

export const statePlaneCounters: StatePlaneCounters = {
  requests: 0,
  synchronousCalls: calls(),
  backgroundCalls: calls(),
  failures: calls(),
  retries: 0,
  failedOpen: policies(),
  failedClosed: policies(),
};

const sum = (record: Record<string, number>) => Object.values(record).reduce((total, n) => total + n, 0);

/** The counters plus the per-request ratios, as the admin endpoint and the bench report them. */
export function statePlaneReport(): StatePlaneCounters & { synchronousCallsPerRequest: number; callsPerRequest: number } {
  const requests = Math.max(1, statePlaneCounters.requests);
  const synchronous = sum(statePlaneCounters.synchronousCalls) - statePlaneCounters.synchronousCalls.admin;
  const background = sum(statePlaneCounters.backgroundCalls);
  return {
    ...structuredClone(statePlaneCounters),
    synchronousCallsPerRequest: synchronous / requests,
    callsPerRequest: (synchronous + background) / requests,
  };
}
