/**
 * @module Circuit breaker policy: refuses calls to a failing service from this isolate's copy of the breaker
 * (refreshed every sync), asks the service's object for a probe permit when half-open, and reports the probe's
 * outcome at once.
 */
import type { Context } from 'hono';
import type { ServicePool } from '../balancing/service-pool.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { waitUntilOf } from '../middleware/wait-until.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import type { BreakerView, ServiceStateClient } from '../state/clients/service-state-client.ts';
import { statePlaneCounters } from '../state/infra/state-plane-metrics.ts';
import { syncServiceStateNow } from '../state/clients/sync-service-state.ts';
import type { Admitted, Finish, ServicePolicy } from './service-chain.ts';

/** Without `snapshotMaxAgeMs`, a copy of the breaker older than this many sync intervals counts as unknown. */
const SNAPSHOT_MAX_AGE_IN_SYNC_INTERVALS = 5;

/** Whether this isolate's copy of the shared state is recent enough to decide on. */
function hasUsableSnapshot(state: ServiceStateClient, now: number, maxAgeMs: number): boolean {
  return state.snapshot !== undefined && now - state.snapshotReceivedAt <= maxAgeMs;
}

/** After a refused probe permit, this isolate refuses on its own for this long before asking again. */
const PROBE_REFUSAL_CACHE_MS = 1_000;

/**
 * Decides from this isolate's copy of the breaker (no promise while the copy is fresh and the breaker closed or
 * open); syncs first when the copy is missing or too old, and asks for a probe permit when half-open.
 */
export const circuitBreaker: ServicePolicy = {
  appliesTo: (service) => service.policies.circuitBreaker !== undefined,
  phase: 'circuit-breaker',
  admit(c) {
    const service = c.get('route').service;
    const pool = c.get('gateway').pools.get(service.name)!;
    const settings = c.get('gateway').config.gateway.statePlane;
    // A fresh isolate starts from the shared state, not from "closed": requests that find no usable snapshot sync
    // first. A sync that brings none starts a backoff, so an outage of the object does not cost every request a call.
    const maxAgeMs = settings.snapshotMaxAgeMs ?? settings.syncIntervalMs * SNAPSHOT_MAX_AGE_IN_SYNC_INTERVALS;
    const now = Date.now();
    if (!hasUsableSnapshot(pool.state, now, maxAgeMs) && now >= pool.state.syncBackoffUntil) {
      return syncServiceStateNow(c.env, pool, settings).then(() => {
        const synced = Date.now();
        if (!hasUsableSnapshot(pool.state, synced, maxAgeMs)) pool.state.syncBackoffUntil = synced + settings.unreachableBackoffMs;
        return decide(c, pool, maxAgeMs, synced);
      });
    }
    return decide(c, pool, maxAgeMs, now);
  },
};

function decide(c: Context<AppEnv>, pool: ServicePool, maxAgeMs: number, now: number): Admitted {
  const service = pool.service;
  const breakerPolicy = service.policies.circuitBreaker!;
  const view: BreakerView = hasUsableSnapshot(pool.state, now, maxAgeMs) ? pool.state.breaker(now) : { state: 'unknown' };
  if (view.state === 'closed') return;
  if (view.state === 'unknown') {
    if (!breakerPolicy.failOpen) {
      statePlaneCounters.failedClosed['circuit-breaker'] += 1;
      throw new GatewayError('breaker-unavailable', { service: service.name }, { headers: { 'retry-after': '1' } });
    }
    statePlaneCounters.failedOpen['circuit-breaker'] += 1;
    return;
  }
  if (view.state === 'open' || now < pool.state.probeDeniedUntil) {
    const retryAfter = Math.max(1, Math.ceil((view.state === 'open' ? view.retryAfterMs : pool.state.probeDeniedUntil - now) / 1000));
    throw new GatewayError('circuit-open', { service: service.name, retryAfter }, { headers: { 'retry-after': String(retryAfter) } });
  }
  return probe(c, pool);
}

/** Half-open: only a request holding a probe permit reaches the origin; its outcome is reported at once. */
async function probe(c: Context<AppEnv>, pool: ServicePool): Promise<Finish> {
  const service = pool.service;
  const breakerPolicy = service.policies.circuitBreaker!;
  const settings = c.get('gateway').config.gateway.statePlane;
  const policy = { ...pool.statePolicy, breaker: pool.statePolicy.breaker! };
  const stub = () => c.env.SERVICE_STATE.getByName(service.name);
  let granted: boolean;
  try {
    const answer = await callDurableObject(stub, (s) => s.tryProbe(policy), { kind: 'breaker-probe', timeoutMs: settings.callTimeoutMs });
    pool.state.apply(answer.snapshot, pool, Date.now());
    granted = answer.granted;
  } catch {
    granted = breakerPolicy.failOpen;
    statePlaneCounters[granted ? 'failedOpen' : 'failedClosed']['circuit-breaker'] += 1;
  }
  if (!granted) {
    pool.state.probeDeniedUntil = Date.now() + PROBE_REFUSAL_CACHE_MS;
    throw new GatewayError('circuit-open', { service: service.name, retryAfter: 1 }, { headers: { 'retry-after': '1' } });
  }
  return (c, answer) => {
    const success = c.error === undefined && answer.status < 500;
    waitUntilOf(c)(
      callDurableObject(stub, (s) => s.reportProbe(policy, success), { kind: 'breaker-probe', background: true, timeoutMs: settings.callTimeoutMs })
        .then((snapshot) => pool.state.apply(snapshot, pool, Date.now()))
        .catch(() => {}),
    );
  };
}
