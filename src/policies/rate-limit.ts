/**
 * @module Rate limit policy: a global token bucket per service (or route, or consumer) in a Durable Object,
 * spent through leases so most requests are decided without a round trip. Headers follow the IETF httpapi
 * RateLimit draft (RateLimit-Policy and RateLimit structured fields), with Kong's older trio on request.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import type { GatewayConfig, ServiceConfig } from '../config/schema.ts';
import { GatewayError } from '../errors/problem.ts';
import { callDurableObject, StateBackoff } from '../state/clients/call-durable-object.ts';
import { LeasedLimiter, type Admission } from '../state/clients/leased-limiter.ts';
import { statePlaneCounters } from '../state/infra/state-plane-metrics.ts';
import { exchangeTransport, regionExchange } from '../state/clients/tier.ts';
import type { BucketPolicy, LeaseReturn } from '../state/machines/token-bucket.ts';
import type { ServicePolicy } from './service-chain.ts';

type RateLimitPolicy = NonNullable<ServiceConfig['policies']['rateLimit']>;

/** Limiters this isolate keeps, least recently used first; per-consumer keys could otherwise grow without bound. */
const MAX_LIMITERS = 10_000;
const limiters = new Map<string, LeasedLimiter>();

function limiterFor(key: string, policy: RateLimitPolicy, unreachableBackoffMs: number): LeasedLimiter {
  let limiter = limiters.get(key);
  if (limiter) {
    limiters.delete(key);
  } else {
    limiter = new LeasedLimiter({ ...policy, unreachableBackoffMs });
    if (limiters.size >= MAX_LIMITERS) limiters.delete(limiters.keys().next().value!);
  }
  limiters.set(key, limiter);
  return limiter;
}

/** The bucket a request draws from: its Durable Object's name. */
function bucketKey(c: Context<AppEnv>, policy: RateLimitPolicy): string {
  const route = c.get('route');
  const gateway = c.get('gateway');
  const identity = c.get('identity');
  let key = route.service.name;
  if (policy.perRoute) key += `/route:${route.route.id}`;
  if (policy.by === 'service') return key;
  const ip = c.req.header(gateway.config.gateway.clientIpHeader) ?? 'unknown';
  if (policy.by === 'consumer' && identity) return `${key}/consumer:${identity.consumerId}`;
  return `${key}/ip:${ip}`;
}

/** What a policy needs on every request that does not change with the request: built once per policy object. */
interface CompiledRateLimit {
  bucket: BucketPolicy;
  /** `"name";q=…;w=…`: the RateLimit-Policy value. */
  policyHeader: string;
  /** `"name";r=`: the start of the RateLimit value. */
  limitPrefix: string;
}

/** Keyed by the policy object of the parsed configuration, so a new configuration version compiles afresh. */
const compiledPolicies = new WeakMap<RateLimitPolicy, CompiledRateLimit>();

function compile(name: string, policy: RateLimitPolicy): CompiledRateLimit {
  let compiled = compiledPolicies.get(policy);
  if (!compiled) {
    compiled = {
      bucket: { ratePerSecond: policy.limit / policy.windowSeconds, capacity: policy.burst, maxLease: policy.maxLease, leaseTtlMs: policy.leaseTtlMs },
      policyHeader: `"${name}";q=${policy.limit};w=${policy.windowSeconds}`,
      limitPrefix: `"${name}";r=`,
    };
    compiledPolicies.set(policy, compiled);
  }
  return compiled;
}

function headersFor(compiled: CompiledRateLimit, policy: RateLimitPolicy, admission: Admission): Record<string, string> {
  const seconds = admission.allowed ? admission.resetSeconds : admission.retryAfterSeconds;
  const headers: Record<string, string> = {
    'ratelimit-policy': compiled.policyHeader,
    ratelimit: `${compiled.limitPrefix}${admission.remaining};t=${seconds}`,
  };
  if (policy.legacyHeaders) {
    headers['ratelimit-limit'] = String(policy.limit);
    headers['ratelimit-remaining'] = String(admission.remaining);
    headers['ratelimit-reset'] = String(seconds);
  }
  return headers;
}

/**
 * Admits a request from a lease held in this isolate when it can (no promise), else leases tokens from the
 * bucket's object (or its region's). The RateLimit headers go on whatever answer follows, refusals of later
 * policies included.
 */
export const rateLimit: ServicePolicy = {
  appliesTo: (service) => service.policies.rateLimit !== undefined,
  phase: 'rate-limit',
  admit(c) {
    const { service } = c.get('route');
    const policy = service.policies.rateLimit!;
    const settings = c.get('gateway').config.gateway.statePlane;
    const compiled = compile(service.name, policy);
    const key = bucketKey(c, policy);
    const limiter = limiterFor(key, policy, settings.unreachableBackoffMs);
    const admission = limiter.admitLocally(Date.now());
    if (admission) return decide(c, compiled, policy, service.name, admission);
    return leaseAndDecide(c, limiter, key, compiled, policy, service.name, settings);
  },
};

async function leaseAndDecide(
  c: Context<AppEnv>,
  limiter: LeasedLimiter,
  key: string,
  compiled: CompiledRateLimit,
  policy: RateLimitPolicy,
  serviceName: string,
  settings: GatewayConfig['gateway']['statePlane'],
): Promise<void> {
  let admission: Admission;
  try {
    const direct = (want: number, returned: LeaseReturn[]) =>
      callDurableObject(
        () => c.env.RATE_LIMITS.getByName(key),
        (stub) => stub.acquire(compiled.bucket, want, returned),
        { kind: 'rate-limit-lease', timeoutMs: settings.callTimeoutMs },
      );
    // The location tier (src/state/clients/tier.ts): the lease rides the isolate's exchange with its region's object.
    const tier = regionExchange(settings);
    const transport = tier && exchangeTransport(c.env, settings, tier.name, false);
    admission = await limiter.admitByLease(Date.now, (want, returned) =>
      tier && transport ? tier.client.acquire({ bucketKey: key, policy: compiled.bucket, want, returned }, settings.syncIntervalMs, transport) : direct(want, returned),
    );
  } catch (error) {
    // Logged once per failed call, not once per request decided during the backoff that follows it.
    if (!(error instanceof StateBackoff)) {
      console.error(JSON.stringify({ level: 'warn', requestId: c.get('trace').requestId, event: 'rate-limit-unreachable', key, error: String(error) }));
    }
    if (!policy.failOpen) {
      statePlaneCounters.failedClosed['rate-limit'] += 1;
      throw new GatewayError('rate-limit-unavailable', { service: serviceName }, { headers: { 'retry-after': '1' } });
    }
    statePlaneCounters.failedOpen['rate-limit'] += 1;
    return;
  }
  decide(c, compiled, policy, serviceName, admission);
}

/** Refuses (429) or lets the request on, with the RateLimit headers for its answer (`answerHeaders`). */
function decide(c: Context<AppEnv>, compiled: CompiledRateLimit, policy: RateLimitPolicy, serviceName: string, admission: Admission): void {
  const headers = headersFor(compiled, policy, admission);
  if (!admission.allowed) {
    throw new GatewayError(
      'rate-limited',
      { service: serviceName, retryAfter: admission.retryAfterSeconds },
      { headers: { ...headers, 'retry-after': String(admission.retryAfterSeconds) } },
    );
  }
  c.set('answerHeaders', headers);
}
