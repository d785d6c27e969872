/** @module Schema of `gateway.config.json`, the declarative configuration users review and deploy. */
import { z } from 'zod';
import { InvalidPathError, normalizePath } from '../routing/normalize-path.ts';

/** Paths the gateway answers itself; no service route may claim them. */
export const RESERVED_PREFIXES = ['/gateway', '/openapi.json', '/docs'] as const;

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** RFC 9110 §9.2.2: methods a client may repeat without changing the outcome, hence safe to retry. */
export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'] as const;

export const BALANCING_STRATEGIES = [
  'round_robin',
  'weighted_round_robin',
  'least_connections',
  'latency_aware',
] as const;

export const RETRY_CONDITIONS = ['connect-failure', 'timeout', 'gateway-error', '5xx'] as const;

const Name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected lower-case letters, digits and "-", starting with a letter');

const NormalisedPath = z.string().superRefine((path, ctx) => {
  let normal: string;
  try {
    normal = normalizePath(path);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `expected a path: ${(error as InvalidPathError).message}` });
    return;
  }
  if (normal !== path || (path.length > 1 && path.endsWith('/'))) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a normalised path without a trailing slash, such as "${normal.replace(/(.)\/$/, '$1')}"`,
    });
  }
});

const Hostname = z
  .string()
  .regex(
    /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'expected a lower-case host name, optionally starting with "*."',
  );

const OriginUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an absolute http(s) URL' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected http or https, got "${url.protocol.slice(0, -1)}"` });
  }
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'credentials are not allowed in the URL' });
  if (url.search || url.hash) ctx.addIssue({ code: 'custom', message: 'query and fragment are not allowed in the URL' });
});

export const RouteSchema = z
  .object({
    id: Name.optional().describe('Stable id used in metrics and logs; defaults to the service name (plus its position when it has several).'),
    pathPrefix: NormalisedPath.describe('Requests whose normalised path is this prefix or continues it at a "/" match the route.'),
    methods: z.array(z.enum(HTTP_METHODS)).min(1).optional().describe('Methods the route accepts; all when omitted. Another method on a matching path gets 405.'),
    hosts: z.array(Hostname).min(1).optional().describe('Host names (the request\'s Host without port) the route accepts; all when omitted. "*.example.com" matches subdomains.'),
    stripPrefix: z.boolean().default(false).describe('Remove the matched prefix before forwarding: `/samples/42` reaches the origin as `/42`.'),
    rewritePrefix: NormalisedPath.optional().describe('Replace the matched prefix before forwarding: with "/api/v1/samples", `/samples/42` reaches the origin as `/api/v1/samples/42`.'),
  })
  .strict()
  .refine((route) => !(route.stripPrefix && route.rewritePrefix), {
    message: 'use either stripPrefix or rewritePrefix, not both',
    path: ['rewritePrefix'],
  });

export const InstanceSchema = z
  .object({
    id: Name.optional().describe('Stable id of the instance; defaults to "<service>-<position>".'),
    url: OriginUrl.describe('Origin base URL: scheme, host, port and an optional base path prepended to every forwarded path.'),
    weight: z.number().int().min(1).max(1000).default(1).describe('Relative share of traffic for weighted strategies.'),
    metadata: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a key of letters, digits, "_", "." or "-"'), z.string().max(256))
      .refine((record) => Object.keys(record).length <= 32, 'expected at most 32 entries')
      .optional()
      .describe('Free-form labels (zone, version, ...), shown by the admin API.'),
  })
  .strict();

export const LoadBalancingSchema = z
  .object({
    strategy: z
      .enum(BALANCING_STRATEGIES)
      .default('round_robin')
      .describe(
        'How an instance is chosen. round_robin: each in turn. weighted_round_robin: by weight, interleaved (nginx smooth WRR). least_connections: fewest requests in flight per unit of weight, by the power of two choices. latency_aware: lowest peak-EWMA latency times requests in flight, by the power of two choices.',
      ),
    failureCooldownMs: z.number().int().min(0).max(300_000).default(10_000).describe('How long an instance that failed to connect or timed out is skipped before it is tried again.'),
    ewmaDecayMs: z.number().int().min(100).max(600_000).default(10_000).describe('Decay time of the latency average used by "latency_aware" (peak EWMA).'),
  })
  .strict();

export const TimeoutsSchema = z
  .object({
    requestMs: z.number().int().min(1).max(600_000).default(30_000).describe('Longest wait for the origin\'s response headers, all attempts together. Exceeded: 504.'),
    perTryMs: z.number().int().min(1).max(600_000).optional().describe('Longest wait for one attempt\'s response headers; defaults to requestMs.'),
  })
  .strict();

export const RetriesSchema = z
  .object({
    attempts: z.number().int().min(0).max(5).default(1).describe('Further attempts after the first, each on another instance when there is one.'),
    methods: z.array(z.enum(HTTP_METHODS)).default([...IDEMPOTENT_METHODS]).describe('Methods that may be retried. Non-idempotent methods only when listed here explicitly.'),
    on: z.array(z.enum(RETRY_CONDITIONS)).default(['connect-failure', 'gateway-error']).describe('Failures that trigger a retry: connection failure, per-try timeout, a 502/503/504 from the origin, or any 5xx.'),
    maxBufferedBodyBytes: z.number().int().min(0).max(10 * 1024 * 1024).default(64 * 1024).describe('Request bodies up to this size are buffered so they can be replayed; larger bodies stream and are not retried.'),
    budgetRatio: z.number().min(0).max(1).default(0.2).describe('Retries may add at most this share of extra load over a 10 s window...'),
    budgetMinPerSecond: z.number().min(0).max(1000).default(3).describe('...plus this many retries per second, so quiet services can still retry.'),
  })
  .strict();

export const HealthCheckSchema = z
  .object({
    path: NormalisedPath.default('/api/v1/health').describe('Path probed on each instance; a 2xx answer is healthy.'),
    intervalSeconds: z.number().int().min(5).max(3600).default(30).describe('Seconds between probes of each instance.'),
    timeoutMs: z.number().int().min(100).max(60_000).default(2_000).describe('A probe not answered within this time fails.'),
    healthyThreshold: z.number().int().min(1).max(20).default(2).describe('Consecutive passing probes before an unhealthy instance is healthy again.'),
    unhealthyThreshold: z.number().int().min(1).max(20).default(3).describe('Consecutive failing probes before an instance is unhealthy.'),
  })
  .strict();

export const RateLimitSchema = z
  .object({
    limit: z.number().int().min(1).max(100_000_000).describe('Requests admitted per window at the steady rate.'),
    windowSeconds: z.number().int().min(1).max(86_400).default(60).describe('The window the limit is counted over.'),
    burst: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .optional()
      .describe('Bucket capacity: a client idle long enough may send this many at once, then is held to the rate. Defaults to the limit.'),
    by: z
      .enum(['service', 'consumer', 'ip'])
      .default('service')
      .describe('One bucket for the whole service, one per consumer (authenticated identity, else client IP), or one per client IP.'),
    perRoute: z.boolean().default(false).describe('A separate bucket for each route of the service.'),
    failOpen: z
      .boolean()
      .default(true)
      .describe('When the bucket object cannot be reached: admit (true) or answer 503 (false). Either way the event is counted.'),
    legacyHeaders: z.boolean().default(false).describe("Also send Kong's RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset."),
    maxLease: z.number().int().min(1).max(10_000).default(50).describe('Most tokens an isolate leases at once.'),
    leaseTtlMs: z.number().int().min(100).max(60_000).default(2_000).describe('How long an isolate may spend a lease.'),
  })
  .strict()
  .transform((policy) => ({ ...policy, burst: policy.burst ?? policy.limit }));

export const CircuitBreakerSchema = z
  .object({
    failureRateThreshold: z.number().min(0.01).max(1).default(0.5).describe('Open when this share of the calls in the window failed (5xx, connect failure, timeout)...'),
    slidingWindowSeconds: z.number().int().min(1).max(600).default(10).describe('...over this many seconds...'),
    minimumCalls: z.number().int().min(1).max(100_000).default(20).describe('...if the window holds at least this many calls.'),
    consecutiveFailures: z.number().int().min(0).max(100_000).default(0).describe('Also open after this many failures in a row; 0 turns this off.'),
    openSeconds: z.number().min(1).max(3_600).default(30).describe('How long the breaker stays open (requests get 503 without reaching the origin) before probing.'),
    halfOpenProbes: z.number().int().min(1).max(100).default(3).describe('Requests let through while half-open; all must succeed to close, one failure reopens.'),
    failOpen: z
      .boolean()
      .default(true)
      .describe('When the breaker state cannot be had: admit (true) or answer 503 (false). Counted either way.'),
  })
  .strict();

export const OutlierEjectionSchema = z
  .object({
    consecutiveFailures: z.number().int().min(1).max(1_000).default(5).describe('Eject an instance after this many consecutive 5xx or gateway failures.'),
    baseEjectionSeconds: z.number().min(1).max(3_600).default(30).describe('Ejection time is this times the number of ejections so far...'),
    maxEjectionSeconds: z.number().min(1).max(86_400).default(300).describe('...capped here.'),
    maxEjectionPercent: z.number().min(0).max(100).default(50).describe('Never eject more than this share of the instances (at least one of two or more).'),
  })
  .strict();

export const ConcurrencySchema = z
  .object({
    maxInFlight: z.number().int().min(1).max(100_000).default(100).describe('Requests to the service in flight at once, per isolate.'),
    maxQueue: z.number().int().min(0).max(100_000).default(200).describe('Requests that may wait for a free slot; beyond, 503 at once.'),
    queueTimeoutMs: z.number().int().min(0).max(60_000).default(1_000).describe('Longest wait in the queue before 503.'),
  })
  .strict();

/** Per-service policies. */
export const PoliciesSchema = z
  .object({
    rateLimit: RateLimitSchema.optional().describe('Global token-bucket rate limit, held in a Durable Object and spent through leases.'),
    circuitBreaker: CircuitBreakerSchema.optional().describe('Service-wide circuit breaker, shared by every isolate.'),
    outlierEjection: OutlierEjectionSchema.default(OutlierEjectionSchema.parse({})).describe('Per-instance outlier ejection, shared by every isolate.'),
    concurrency: ConcurrencySchema.optional().describe('Concurrency limit with a bounded queue.'),
  })
  .strict();

export const ServiceSchema = z
  .object({
    name: Name.describe('Service name, unique; used in URLs of the admin API, metrics and logs.'),
    routes: z.array(RouteSchema).min(1).describe('Request matches that lead to this service.'),
    instances: z.array(InstanceSchema).min(1).describe('Origin instances that serve this service.'),
    loadBalancing: LoadBalancingSchema.default(LoadBalancingSchema.parse({})).describe('How requests are spread over the instances.'),
    timeouts: TimeoutsSchema.default(TimeoutsSchema.parse({})).describe('How long the gateway waits for the origin.'),
    retries: RetriesSchema.default(RetriesSchema.parse({})).describe('When a failed attempt is tried again on another instance.'),
    healthCheck: HealthCheckSchema.default(HealthCheckSchema.parse({})).describe('Active health checks of the instances.'),
    policies: PoliciesSchema.default(PoliciesSchema.parse({})).describe('Per-service policies.'),
  })
  .strict()
  .transform((service) => ({
    ...service,
    routes: service.routes.map((route, index) => ({
      ...route,
      id: route.id ?? (service.routes.length === 1 ? service.name : `${service.name}-${index + 1}`),
    })),
    instances: service.instances.map((instance, index) => ({
      ...instance,
      id: instance.id ?? `${service.name}-${index + 1}`,
    })),
  }));

export const GatewaySettingsSchema = z
  .object({
    clientIpHeader: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .default('cf-connecting-ip').describe('Header that carries the client\'s address as seen by the edge. Cloudflare sets `CF-Connecting-IP` and overwrites any client copy; behind another proxy name the header that proxy sets.'),
    escapedSlashes: z.enum(['keep', 'reject']).default('keep').describe('"keep" forwards `%2F` and `%5C` unchanged (they never split segments here); "reject" answers 400.'),
    controlPlane: z
      .object({
        pollIntervalMs: z.number().int().min(500).max(300_000).default(5_000).describe('How often each isolate asks the registry whether the configuration changed: the bound on how stale an isolate can be.'),
        allowedOriginHosts: z.array(Hostname).default([]).describe('Host patterns that instance URLs registered through the admin API must match; empty: any public host.'),
        allowPrivateOriginAddresses: z
          .boolean()
          .default(false)
          .describe('Allow instance URLs on loopback, private and link-local addresses through the admin API (local development only).'),
      })
      .strict()
      .default({ pollIntervalMs: 5_000, allowedOriginHosts: [], allowPrivateOriginAddresses: false })
      .describe('The live service registry behind the admin API.'),
    statePlane: z
      .object({
        syncIntervalMs: z.number().int().min(100).max(60_000).default(1_000).describe('How often an isolate reports outcomes and in-flight counts to each service object and refreshes its copy of breaker, ejection and load state.'),
        callTimeoutMs: z.number().int().min(50).max(30_000).default(1_000).describe('Time limit of one Durable Object call.'),
      })
      .strict()
      .default({ syncIntervalMs: 1_000, callTimeoutMs: 1_000 })
      .describe('How isolates talk to the Durable Objects that hold global state.'),
  })
  .strict();

export const GatewayConfigSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    gateway: GatewaySettingsSchema.default(GatewaySettingsSchema.parse({})).describe('Settings of the gateway as a whole.'),
    services: z.array(ServiceSchema).min(1).describe('The services behind the gateway.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const serviceNames = new Set<string>();
    const routeOwners = new Map<string, string>();
    const seenRoutes: { id: string; route: RouteConfig }[] = [];
    config.services.forEach((service, s) => {
      if (serviceNames.has(service.name)) {
        ctx.addIssue({ code: 'custom', path: ['services', s, 'name'], message: `duplicate service name "${service.name}"` });
      }
      serviceNames.add(service.name);

      const instanceIds = new Set<string>();
      service.instances.forEach((instance, i) => {
        if (instanceIds.has(instance.id)) {
          ctx.addIssue({ code: 'custom', path: ['services', s, 'instances', i, 'id'], message: `duplicate instance id "${instance.id}"` });
        }
        instanceIds.add(instance.id);
      });

      service.routes.forEach((route, r) => {
        const path = ['services', s, 'routes', r];
        const reserved = RESERVED_PREFIXES.find((prefix) => route.pathPrefix === prefix || route.pathPrefix.startsWith(`${prefix}/`));
        if (reserved) {
          ctx.addIssue({ code: 'custom', path: [...path, 'pathPrefix'], message: `"${reserved}" is reserved for the gateway's own endpoints` });
        }
        const owner = routeOwners.get(route.id);
        if (owner) ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `duplicate route id "${route.id}" (also in service "${owner}")` });
        routeOwners.set(route.id, service.name);

        // Two routes with the same prefix must be told apart by method or host, or one would shadow the other.
        const shadowed = seenRoutes.find(({ route: other }) => other.pathPrefix === route.pathPrefix && overlaps(other.methods, route.methods) && overlaps(other.hosts, route.hosts));
        if (shadowed) {
          ctx.addIssue({ code: 'custom', path: [...path, 'pathPrefix'], message: `same prefix, methods and hosts as route "${shadowed.id}"` });
        }
        seenRoutes.push({ id: route.id, route });
      });
    });
  });

/**
 * Two optional conditions of routes with the same prefix clash when both are absent or both list a shared entry.
 * A route with a condition and one without do not clash: the router tries the conditional one first.
 */
function overlaps(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.some((entry) => b.includes(entry));
}

/** What users write: optional fields may be left out. */
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>;
/** What the gateway runs on: every default filled in. */
export type GatewayConfig = z.output<typeof GatewayConfigSchema>;
export type ServiceConfig = z.output<typeof ServiceSchema>;
export type RouteConfig = ServiceConfig['routes'][number];
export type InstanceConfig = ServiceConfig['instances'][number];
export type BalancingStrategy = (typeof BALANCING_STRATEGIES)[number];
