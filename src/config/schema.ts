/** @module Schema of `gateway.config.json`, the declarative configuration users review and deploy. */
import { ObservabilitySettingsSchema } from '../observability/settings.ts';
import * as z from 'zod';
import { InvalidPathError, normalizePath } from '../routing/normalize-path.ts';
import { ChannelSchema } from '../alerting/channel-config.ts';
import { AlertRuleSchema } from '../alerting/rules.ts';

/** Paths the gateway answers itself (admin API, alerts, API description); no service route may claim them. */
export const RESERVED_PREFIXES = ['/gateway', '/alerts', '/openapi.json', '/docs', '/dashboard', '/health', '/services', '/metrics'] as const;
/**
 * Of those, the ones answered on every host name even when `gateway.adminHost` is set (the public health checks
 * the API description and the dashboard, whose static assets are served before the Worker runs); the others then
 * answer only on the admin host, so other hosts may route them.
 */
export const PUBLIC_RESERVED_PREFIXES = ['/health', '/openapi.json', '/docs', '/dashboard'] as const;
/** Exact public paths under `/health`; every other `/health/...` path is admin-only (health detail). */
export const PUBLIC_HEALTH_PATHS = ['/health', '/health/live', '/health/ready'] as const;

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

/** Longest route prefix, rewrite prefix or probe path. */
export const MAX_PATH_LENGTH = 1_024;
// RFC 3986 §3.3: path = segments of pchar (unreserved, pct-encoded, sub-delims, ":" and "@") separated by "/".
const PATH_CHARACTERS = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;

const NormalisedPath = z.string().superRefine((path, ctx) => {
  if (path.length > MAX_PATH_LENGTH) {
    ctx.addIssue({ code: 'custom', message: `expected at most ${MAX_PATH_LENGTH} characters` });
    return;
  }
  if (!PATH_CHARACTERS.test(path)) {
    // NUL, CR/LF, spaces, non-ASCII (emoji): no request path can ever match them in this form.
    ctx.addIssue({ code: 'custom', message: 'expected RFC 3986 path characters only (percent-encode anything else)' });
    return;
  }
  let normal: string;
  try {
    normal = normalizePath(path);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `expected a path: ${(error as InvalidPathError).message}` });
    return;
  }
  // Only "/" itself is the catch-all: "", "//", "/." and friends, which normalise to it, are refused here.
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

/** Longest origin URL. */
export const MAX_ORIGIN_URL_LENGTH = 2_048;

const OriginUrl = z.string().superRefine((value, ctx) => {
  if (value.length > MAX_ORIGIN_URL_LENGTH) {
    ctx.addIssue({ code: 'custom', message: `expected at most ${MAX_ORIGIN_URL_LENGTH} characters` });
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an absolute http(s) URL' });
    return;
  }
  // The URL parser would quietly strip or encode these: what is stored must be what is used.
  if (/[\s\x00-\x1f\x7f\\]/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected no whitespace, control characters or backslashes' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected http or https, got "${url.protocol.slice(0, -1)}"` });
    return;
  }
  if (!/^https?:\/\/[^/?#]/i.test(value) || url.hostname === '') ctx.addIssue({ code: 'custom', message: 'expected a host after "//"' });
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'credentials are not allowed in the URL' });
  if (url.search || url.hash || /[?#]/.test(value)) ctx.addIssue({ code: 'custom', message: 'query and fragment are not allowed in the URL' });
  // No dot or empty segments in the base path (RFC 3986 §5.2.4): the stored URL is already in its final form.
  const path = value.replace(/^https?:\/\/[^/]*/i, '');
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(path) || path.includes('//')) {
    ctx.addIssue({ code: 'custom', message: 'expected a normalised base path (no "." or ".." segments, no "//")' });
  }
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
    responseIdleMs: z.number().int().min(100).max(600_000).default(60_000).describe('Longest wait for the next part of a streamed response body (one over 64 KiB or unsized); an origin that stalls longer is cut off: the client\'s body ends in an error and the request\'s concurrency slot and in-flight count are released.'),
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
    expectedBody: z.string().min(1).max(256).optional().describe('When set, a probe passes only if the answer is a 2xx whose body contains this text.'),
    figures: z
      .array(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'expected a lower-case figure name such as "queue_depth"'))
      .max(16)
      .default([])
      .describe('Numeric fields of a JSON health answer stored with the probe, besides cpu, memory and disk (percentages); alert rules read them as origin.<name>.'),
    enabled: z.boolean().default(true).describe('Probe the instances; when false, instances are never marked unhealthy by probes.'),
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
    maxLease: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe('Most tokens an isolate leases at once. Defaults to 1% of limit + burst, at least 50 and at most 10,000: each lease is a call to the bucket object, and tokens on lease count against its capacity, so a larger lease never admits more, it only strands more in an isolate that stops.'),
    leaseTtlMs: z.number().int().min(100).max(60_000).default(2_000).describe('How long an isolate may spend a lease.'),
  })
  .strict()
  .transform((policy) => {
    const burst = policy.burst ?? policy.limit;
    return { ...policy, burst, maxLease: policy.maxLease ?? defaultMaxLease(policy.limit, burst) };
  });

/**
 * A lease of at most 1% of the bucket (at least 50 and at most 10,000 tokens). With a fixed 50 a large limit cost a
 * bucket call every 50 requests per isolate (about 14 µs of CPU per request in the bench); small buckets keep 50.
 */
export function defaultMaxLease(limit: number, burst: number): number {
  return Math.min(10_000, Math.max(50, Math.floor((limit + burst) / 100)));
}

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

// ---------------------------------------------------------------------------------------------------------------
// Authentication, authorization and edge security
// ---------------------------------------------------------------------------------------------------------------

/** RFC 7518 §3.1 HMAC algorithms: verified with a shared secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
/** Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037, RFC 9864): verified with public keys from a JWKS. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const AUTH_MODES = ['jwt', 'introspection', 'api-key', 'jwt-or-api-key', 'none'] as const;
/** What an identity header carries; `claim:<name>` copies a claim of the token. */
export const IDENTITY_SOURCES = ['subject', 'consumerId', 'roles', 'scopes', 'method'] as const;
export const DEFAULT_IDENTITY_HEADERS = { 'x-user-id': 'subject', 'x-user-roles': 'roles', 'x-consumer-id': 'consumerId' } as const;

/**
 * Headers an identity header may not be: the gateway's own forwarding headers, hop-by-hop headers and those the
 * runtime or the origin connection rely on.
 */
const RESERVED_HEADER_NAMES = new Set([
  'authorization', 'x-api-key', 'cookie', 'host', 'content-length', 'content-type', 'transfer-encoding', 'connection',
  'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'forwarded', 'x-forwarded-for', 'x-forwarded-host',
  'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip', 'true-client-ip', 'cf-connecting-ip', 'x-request-id', 'traceparent',
]);

const SecretBindingName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected the name of a Workers secret in upper case, such as "JWT_SECRET"');

const ClaimPath = z
  .string()
  .regex(/^[A-Za-z0-9_:-]{1,64}(\.[A-Za-z0-9_:-]{1,64}){0,4}$/, 'expected a claim name, or a dotted path such as "realm_access.roles"');

const HeaderName = z.string().regex(/^[a-z0-9-]{1,64}$/, 'expected a lower-case header name');

const AccessName = z.string().regex(/^[\x21-\x2b\x2d-\x7e]{1,128}$/, 'expected a role or scope name: visible ASCII, no comma');

const HttpsOrHttpUrl = OriginUrl;

export const JwksFetchSchema = z
  .object({
    cacheMaxAgeSeconds: z.number().int().min(0).max(86_400).default(600).describe('How long a fetched key set is used before it is fetched again.'),
    cooldownSeconds: z.number().int().min(0).max(3_600).default(30).describe('Least time between two fetches of the key set from this isolate, so tokens with unknown `kid` values cannot make the gateway hammer the key server.'),
    staleIfErrorSeconds: z.number().int().min(0).max(7 * 86_400).default(86_400).describe('While the key server fails, keys are still used this long after they went stale; past that, and with no keys at all, requests get 503.'),
    timeoutMs: z.number().int().min(100).max(30_000).default(3_000).describe('Longest wait for the key server.'),
  })
  .strict();

export const IssuerSchema = z
  .object({
    name: Name.describe('Short name that policies use to refer to this issuer; consumer ids of its tokens are "<name>:<sub>".'),
    issuer: z.string().min(1).max(512).describe('The exact `iss` value tokens of this issuer carry.'),
    kind: z.enum(['secret', 'jwks']).describe('"secret": HMAC tokens verified with a Workers secret. "jwks": RSA, EC or EdDSA tokens verified with the public keys the issuer publishes at `jwksUrl`.'),
    secret: SecretBindingName.default('JWT_SECRET').describe('Workers secret holding the HMAC key (kind "secret"). Locally it comes from `.dev.vars`.'),
    jwksUrl: HttpsOrHttpUrl.optional().describe('URL of the issuer\'s JSON Web Key Set (kind "jwks"). Keys named in a token (`jku`, `x5u`, `jwk`, `x5c`) are never used.'),
    algorithms: z
      .array(z.enum([...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS]))
      .min(1)
      .optional()
      .describe('Algorithms accepted from this issuer. Defaults to ["HS256"] for kind "secret" and ["RS256"] for "jwks". HMAC algorithms only with "secret", asymmetric ones only with "jwks", so a token can never make the gateway use a public key as an HMAC secret.'),
    audience: z.array(z.string().min(1).max(512)).min(1).describe('Accepted `aud` values: a token must name at least one of them. Required: without it a token meant for any other service of the issuer would be accepted.'),
    requiredClaims: z.array(ClaimPath).default([]).describe('Claims a token must carry besides `iss`, `aud`, `sub` and `exp`, which are always required.'),
    maxTokenAgeSeconds: z.number().int().min(1).max(31_536_000).optional().describe('When set, tokens must carry `iat` and be at most this old.'),
    clockSkewSeconds: z.number().int().min(0).max(300).default(60).describe('Tolerance for `exp`, `nbf` and `iat` against the gateway\'s clock.'),
    rolesClaim: ClaimPath.default('roles').describe('Claim holding the caller\'s roles: an array of strings or a space-separated string.'),
    scopesClaim: ClaimPath.default('scope').describe('Claim holding the granted scopes: a space-separated string (RFC 8693 `scope`) or an array (`scp`).'),
    jwks: JwksFetchSchema.default(JwksFetchSchema.parse({})).describe('Caching of the key set (kind "jwks").'),
  })
  .strict()
  .superRefine((issuer, ctx) => {
    const algorithms = issuer.algorithms ?? [];
    if (issuer.kind === 'secret') {
      if (issuer.jwksUrl !== undefined) ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'only for kind "jwks"' });
      algorithms.forEach((alg, i) => {
        if (!(HMAC_ALGORITHMS as readonly string[]).includes(alg)) {
          ctx.addIssue({ code: 'custom', path: ['algorithms', i], message: `kind "secret" accepts only ${HMAC_ALGORITHMS.join(', ')}` });
        }
      });
    } else {
      if (issuer.jwksUrl === undefined) ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'required for kind "jwks"' });
      algorithms.forEach((alg, i) => {
        if ((HMAC_ALGORITHMS as readonly string[]).includes(alg)) {
          ctx.addIssue({ code: 'custom', path: ['algorithms', i], message: 'kind "jwks" accepts only asymmetric algorithms' });
        }
      });
    }
  })
  .transform((issuer) => ({ ...issuer, algorithms: issuer.algorithms ?? (issuer.kind === 'secret' ? ['HS256' as const] : ['RS256' as const]) }));

/**
 * A Cloudflare Access team domain: `<team>.cloudflareaccess.com` (https implied), or an http(s) URL, where plain
 * http is allowed on loopback only, so tests can run a local key server.
 */
const AccessTeamDomain = z.string().max(512).superRefine((value, ctx) => {
  if (/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.cloudflareaccess\.com$/.test(value)) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a team domain such as "myteam.cloudflareaccess.com"' });
    return;
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
    ctx.addIssue({ code: 'custom', message: 'expected https (plain http only on loopback, for local key servers)' });
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname.endsWith('/'))) {
    ctx.addIssue({ code: 'custom', message: 'expected an origin, optionally with a path without a trailing slash; no credentials, query or fragment' });
  }
});

export const CloudflareAccessSchema = z
  .object({
    teamDomain: AccessTeamDomain.describe('Your Zero Trust team domain, such as "myteam.cloudflareaccess.com": tokens must carry `iss` "https://<teamDomain>", and the signing keys come from "https://<teamDomain>/cdn-cgi/access/certs".'),
    audience: z.array(z.string().min(1).max(512)).min(1).describe('Application Audience (AUD) tags of the Access application(s) covering the admin plane; a token must name one of them.'),
    emails: z.array(z.string().regex(/^[^\s@]{1,64}@[^\s@]{1,255}$/, 'expected an email address').transform((email) => email.toLowerCase())).default([]).describe('Users (the token\'s `email`, compared case-insensitively) who get the admin role.'),
    serviceTokens: z.array(z.string().min(1).max(256)).default([]).describe('Service tokens (the token\'s `common_name`, which is the service token\'s Client ID) that get the admin role.'),
    clockSkewSeconds: z.number().int().min(0).max(300).default(60).describe('Tolerance for `exp`, `nbf` and `iat` against the gateway\'s clock.'),
    jwks: JwksFetchSchema.default(JwksFetchSchema.parse({})).describe('Caching of the team\'s key set.'),
  })
  .strict()
  .refine((access) => access.emails.length + access.serviceTokens.length > 0, {
    path: ['emails'],
    message: 'name at least one email or service token: Access alone proves who someone is, not that they are an admin',
  });

export const IntrospectionEndpointSchema = z
  .object({
    name: Name.describe('Short name that policies use to refer to this endpoint; consumer ids are "<name>:<sub>".'),
    url: HttpsOrHttpUrl.describe('The RFC 7662 token introspection endpoint.'),
    clientId: z.string().min(1).max(256).describe('Client id the gateway authenticates with (HTTP Basic, RFC 7662 §2.1).'),
    clientSecret: SecretBindingName.default('INTROSPECTION_CLIENT_SECRET').describe('Workers secret holding the client secret.'),
    timeoutMs: z.number().int().min(100).max(30_000).default(3_000).describe('Longest wait for the endpoint; past it the request gets 503.'),
    cacheMaxTtlSeconds: z.number().int().min(0).max(3_600).default(60).describe('An active token\'s answer is reused for at most this long (and never past its `exp`): revocation at the auth service takes effect within this time.'),
    negativeCacheTtlSeconds: z.number().int().min(0).max(600).default(10).describe('How long an "inactive" answer is reused.'),
    audience: z.array(z.string().min(1).max(512)).min(1).optional().describe('When set, the answer\'s `aud` must name one of these.'),
    rolesClaim: ClaimPath.default('roles').describe('Member of the answer holding roles.'),
    scopesClaim: ClaimPath.default('scope').describe('Member of the answer holding scopes (space-separated string or array).'),
  })
  .strict();

export const AuthSettingsSchema = z
  .object({
    realm: z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/).default('edge-gateway').describe('Realm named in `WWW-Authenticate` challenges (RFC 6750 §3).'),
    issuers: z.array(IssuerSchema).default([]).describe('Token issuers the gateway trusts. Services choose among them in `policies.auth.issuers`.'),
    introspection: z.array(IntrospectionEndpointSchema).default([]).describe('RFC 7662 introspection endpoints, for services that validate opaque tokens with an auth service.'),
    maxTokenBytes: z.number().int().min(512).max(65_536).default(8_192).describe('Longer bearer tokens are refused before any parsing.'),
    tokenCache: z
      .object({
        maxEntries: z.number().int().min(0).max(100_000).default(10_000).describe('Verified tokens remembered per isolate (least recently used are dropped); 0 turns the cache off.'),
        maxTtlSeconds: z.number().int().min(0).max(3_600).default(300).describe('A verified token is remembered at most this long, and never past its `exp`.'),
      })
      .strict()
      .default({ maxEntries: 10_000, maxTtlSeconds: 300 })
      .describe('Cache of verified JWTs, keyed by the token itself (a hit is a map lookup) or, for tokens over 1 KiB, by its SHA-256. Only tokens that verified are stored.'),
    apiKeys: z
      .object({
        cacheTtlSeconds: z.number().int().min(0).max(600).default(30).describe('An isolate reuses a key lookup this long: a revoked key stops working within this time.'),
        negativeCacheTtlSeconds: z.number().int().min(0).max(600).default(5).describe('An isolate remembers an unknown key this long.'),
        legacyKeys: z
          .enum(['accept', 'reject'])
          .default('accept')
          .describe('Keys minted before keys carried a checksum (`egw_` + 43 characters): "accept" looks them up as before; "reject" refuses them without a lookup, once every such key has been replaced (docs/api-keys.md).'),
        maxFailuresPerAddress: z.number().int().min(1).max(10_000).default(20).describe('Failed API key authentications a client address may have in one window (per isolate) before it is refused with 429 without any lookup.'),
        failureWindowSeconds: z.number().int().min(1).max(3_600).default(60).describe('Length of that window, from the first failure.'),
      })
      .strict()
      .default({ cacheTtlSeconds: 30, negativeCacheTtlSeconds: 5, legacyKeys: 'accept', maxFailuresPerAddress: 20, failureWindowSeconds: 60 })
      .describe('API keys (created through the admin API, stored hashed in a Durable Object).'),
    admin: z
      .object({
        role: AccessName.default('admin').describe('Role a JWT must carry to use the admin API (`/gateway/*`, `/alerts/*`).'),
        issuers: z.array(Name).optional().describe('Issuers whose tokens may carry that role; all when omitted. The `ADMIN_TOKEN` secret is accepted too.'),
        access: CloudflareAccessSchema.optional().describe('Cloudflare Access in front of the admin plane: its `Cf-Access-Jwt-Assertion` token opens the admin API for the listed emails and service tokens.'),
      })
      .strict()
      .default({ role: 'admin' })
      .describe('Who may use the admin API.'),
  })
  .strict();

const PublicPathSchema = z.union([
  NormalisedPath,
  z
    .object({
      path: NormalisedPath.describe('Path prefix, matched on segment boundaries.'),
      methods: z.array(z.enum(HTTP_METHODS)).min(1).optional().describe('Methods that are public on it; all when omitted.'),
    })
    .strict(),
]);

export const AccessRuleSchema = z
  .object({
    pathPrefix: NormalisedPath.optional().describe('The rule applies under this prefix of the normalised request path; to the whole service when omitted.'),
    methods: z.array(z.enum(HTTP_METHODS)).min(1).optional().describe('The rule applies to these methods; all when omitted.'),
    roles: z.array(AccessName).min(1).optional().describe('Roles the caller must have.'),
    scopes: z.array(AccessName).min(1).optional().describe('Scopes the caller must have been granted.'),
    match: z.enum(['any', 'all']).default('any').describe('"any": one of the listed roles (and one of the scopes) is enough; "all": every one is needed.'),
  })
  .strict()
  .refine((rule) => rule.roles !== undefined || rule.scopes !== undefined, { message: 'name roles or scopes (or both)' });

const IdentitySource = z.union([
  z.enum(IDENTITY_SOURCES),
  z.string().regex(/^claim:[A-Za-z0-9_:-]{1,64}(\.[A-Za-z0-9_:-]{1,64}){0,4}$/, 'expected "subject", "consumerId", "roles", "scopes", "method" or "claim:<name>"'),
]);

export const AuthPolicySchema = z
  .object({
    mode: z.enum(AUTH_MODES).default('jwt').describe('"jwt": a bearer JWT from one of `issuers`. "introspection": a bearer token checked with the `introspection` endpoint. "api-key": an API key (`X-API-Key` or `Authorization: ApiKey`). "jwt-or-api-key": either. "none": no authentication.'),
    issuers: z.array(Name).min(1).optional().describe('Names of the gateway\'s issuers (`gateway.auth.issuers`) accepted here; all of them when omitted.'),
    introspection: Name.optional().describe('Name of the introspection endpoint (`gateway.auth.introspection`), for mode "introspection".'),
    publicPaths: z.array(PublicPathSchema).default([]).describe('Path prefixes of the normalised path (segment-boundary matching, like routes) that need no credentials, optionally only for some methods. A path that origins could read as another path (with `;`, `%2F`, `%5C`, `%25`, or overlong or fullwidth encodings of "." and "/") is never public.'),
    rules: z.array(AccessRuleSchema).default([]).describe('Roles or scopes required, per path prefix and method. Every rule that applies must be satisfied; on a path origins could read as another path, every rule of the service applies.'),
    identityHeaders: z
      .record(HeaderName, IdentitySource)
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers)) {
          if (RESERVED_HEADER_NAMES.has(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'this header is set or relied on by the gateway itself' });
        }
      })
      .default({ ...DEFAULT_IDENTITY_HEADERS })
      .describe('Headers that carry the caller\'s identity to the origin. Client-sent copies of these (and of the defaults) are always removed.'),
  })
  .strict();

const CorsOrigin = z.string().superRefine((origin, ctx) => {
  if (origin === '*') return;
  if (!/^https?:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/.test(origin)) {
    ctx.addIssue({ code: 'custom', message: 'expected "*" or an origin such as "https://app.example.com" or "https://*.example.com"' });
  }
});

export const CorsPolicySchema = z
  .object({
    allowedOrigins: z.array(CorsOrigin).min(1).describe('Origins allowed to call the service from a browser: exact ("https://app.example.com"), subdomain patterns ("https://*.example.com") or "*".'),
    allowedMethods: z.array(z.enum(HTTP_METHODS)).min(1).default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).describe('Methods a preflight may ask for.'),
    allowedHeaders: z.array(z.string().regex(/^[a-z0-9-]{1,64}$/)).default(['authorization', 'content-type', 'x-api-key', 'x-request-id', 'traceparent']).describe('Request headers (lower case) a preflight may ask for.'),
    exposedHeaders: z.array(z.string().regex(/^[a-z0-9-]{1,64}$/)).default(['x-request-id', 'traceparent']).describe('Response headers scripts may read.'),
    allowCredentials: z.boolean().default(false).describe('Whether browsers may send cookies and credentials (`Access-Control-Allow-Credentials`). Not with origin "*".'),
    maxAgeSeconds: z.number().int().min(0).max(86_400).default(600).describe('How long browsers may cache a preflight answer.'),
  })
  .strict()
  .refine((cors) => !(cors.allowCredentials && cors.allowedOrigins.includes('*')), {
    message: 'allowCredentials cannot be combined with origin "*" (Fetch standard)',
    path: ['allowCredentials'],
  });

export const SecurityHeadersSchema = z
  .object({
    hstsMaxAgeSeconds: z.number().int().min(0).max(63_072_000).default(31_536_000).describe('`Strict-Transport-Security` max-age on https responses; 0 leaves the header out.'),
    hstsIncludeSubDomains: z.boolean().default(true).describe('Adds `includeSubDomains` to HSTS.'),
    frameOptions: z.enum(['DENY', 'SAMEORIGIN', 'off']).default('DENY').describe('`X-Frame-Options`.'),
    referrerPolicy: z.enum(['no-referrer', 'same-origin', 'strict-origin', 'strict-origin-when-cross-origin', 'off']).default('no-referrer').describe('`Referrer-Policy`.'),
    contentTypeOptions: z.boolean().default(true).describe('`X-Content-Type-Options: nosniff`.'),
    dashboardCsp: z
      .string()
      .regex(/^[\x20-\x7e]{1,2048}$/)
      .default("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
      .describe('`Content-Security-Policy` of the dashboard (`/gateway/dashboard`). The other admin API answers get `default-src \'none\'; frame-ancestors \'none\'`.'),
    overrideOrigin: z.boolean().default(false).describe('Replace these headers when an origin sets its own; by default the origin\'s choice is kept.'),
  })
  .strict();

export const LimitsSchema = z
  .object({
    maxBodyBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(100 * 1024 * 1024).describe('Largest request body: by `Content-Length`, or counted as it streams when there is none. Larger: 413.'),
    maxHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(32 * 1024).describe('Largest sum of request header names and values. Larger: 431.'),
    bodyIdleTimeoutMs: z.number().int().min(100).max(300_000).default(30_000).describe('Longest wait for the next part of a request body; a body that stops arriving for longer gets 408 and its upstream request is aborted. Also the longest a client may take to read the next part of a streamed response: past it the response is cut off (logged as client-read-timeout) without blaming the origin.'),
  })
  .strict();

/**
 * The gateway's entry in the `Via` header of the requests it forwards (RFC 9110 §7.6.3, which an HTTP-to-HTTP gateway
 * must send), and the loop detection it allows: a request that already names this gateway `maxPasses` times has come
 * back to it, as Squid and CDNs (RFC 8586's `CDN-Loop`) detect loops. Without it, an instance URL that leads back to
 * the gateway under another name (a custom domain, another route) nests requests until something times out.
 */
export const ViaSchema = z
  .object({
    pseudonym: z
      .string()
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/, 'must be an HTTP token (letters, digits and !#$%&\'*+-.^_`|~), at most 64 characters')
      .default('edge-gateway')
      .describe('This gateway\'s name in `Via`. Give each deployment its own when one forwards to another, so that each counts only its own passes.'),
    maxPasses: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(2)
      .describe('Most times one request may pass through this gateway: a request whose `Via` already names it this many times is refused with 508 `forwarding-loop`. 2 lets a request come back once (a service that forwards through the gateway again).'),
  })
  .strict();

/** Per-service policies. Each key is one policy module under src/policies/. */
export const PoliciesSchema = z
  .object({
    rateLimit: RateLimitSchema.optional().describe('Global token-bucket rate limit, held in a Durable Object and spent through leases.'),
    circuitBreaker: CircuitBreakerSchema.optional().describe('Service-wide circuit breaker, shared by every isolate.'),
    outlierEjection: OutlierEjectionSchema.default(OutlierEjectionSchema.parse({})).describe('Per-instance outlier ejection, shared by every isolate.'),
    concurrency: ConcurrencySchema.optional().describe('Concurrency limit with a bounded queue.'),
    auth: AuthPolicySchema.optional().describe('Who may call the service: authentication mode, public paths, required roles and scopes, identity headers sent to the origin. Without it the service needs no credentials.'),
    cors: CorsPolicySchema.optional().describe('Cross-origin access from browsers; preflights are answered by the gateway. Without it CORS is left to the origin.'),
  })
  .strict();

// Bounds on the configuration's size: far above what a platform team runs, low enough that what grows with it stays
// workable. Every isolate parses and indexes the whole configuration at start and on each change; the cron and each
// isolate's first request per version make one call per service (to arm its health checks); one service object
// probes all of its instances every interval. Unbounded, 6,000 services applied in 5.2 s and the first request
// after took 26 s locally (docs/configuration.md#limits). Validation runs wherever the configuration enters (the
// file, `PUT /gateway/config`, each registry write), so the registry never stores a configuration past them.
export const MAX_SERVICES = 1_000;
export const MAX_ROUTES_PER_SERVICE = 1_000;
export const MAX_INSTANCES_PER_SERVICE = 256;

export const ServiceSchema = z
  .object({
    name: Name.describe('Service name, unique; used in URLs of the admin API, metrics and logs.'),
    routes: z.array(RouteSchema).min(1).max(MAX_ROUTES_PER_SERVICE).describe('Request matches that lead to this service. Bounded: every isolate indexes them all (see Limits).'),
    instances: z.array(InstanceSchema).min(1).max(MAX_INSTANCES_PER_SERVICE).describe('Origin instances that serve this service. Bounded: one object probes them all every interval (see Limits).'),
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

/** The location tier (docs/scale.md): off by default, so small deployments and tests talk to the global objects. */
export const TierSettingsSchema = z
  .object({
    enabled: z.boolean().default(false).describe("Isolates talk to their region's objects (one batched call per sync period to `_all@<hint>#<shard>`, created with that locationHint), which talk to the global ones; direct calls when off, when the isolate's region is unknown, or while its region object fails."),
    blockFactor: z.number().int().min(1).max(1_000).default(20).describe('A region leases blocks of up to this many times a rate limit\'s maxLease from the global bucket (and at most an eighth of its burst).'),
    regionPollIntervalMs: z.number().int().min(100).max(300_000).default(2_000).describe("How old a region's copy of the registry may be before the region checks it again (in the background)."),
    configMaxStaleMs: z.number().int().min(1_000).max(3_600_000).default(30_000).describe('Staleness bound: configuration older than this (since last confirmed against the registry) is refreshed before a request is served with it.'),
    shardsPerRegion: z.number().int().min(1).max(64).default(4).describe("Exchange objects per region (`_all@<hint>#0..N-1`); an isolate picks one by its id, so a busy region's calls spread over N objects. Each shard syncs each service with its global object, so more shards mean more region-to-global calls."),
  })
  .strict();

export const GatewaySettingsSchema = z
  .object({
    clientIpHeader: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .default('cf-connecting-ip').describe('Header that carries the client\'s address as seen by the edge. Cloudflare sets `CF-Connecting-IP` and overwrites any client copy; behind another proxy name the header that proxy sets.'),
    escapedSlashes: z.enum(['keep', 'reject']).default('keep').describe('"keep" forwards `%2F` and `%5C` unchanged (they never split segments here); "reject" answers 400.'),
    allowedHosts: z.array(Hostname).default([]).describe('Host names (without port) the gateway answers for; "*.example.com" matches subdomains. Others get 421. Empty: any host.'),
    limits: LimitsSchema.default(LimitsSchema.parse({})).describe('Request size limits.'),
    via: ViaSchema.default(ViaSchema.parse({})).describe('The `Via` entry added to forwarded requests, and forwarding-loop detection.'),
    securityHeaders: SecurityHeadersSchema.default(SecurityHeadersSchema.parse({})).describe('Security headers added to every response.'),
    auth: AuthSettingsSchema.default(AuthSettingsSchema.parse({})).describe('Token issuers, introspection endpoints, API keys and admin access.'),
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
    adminHost: Hostname.optional().describe('When set, the admin API, the health detail endpoints and /services answer only on this host name (without port); other hosts may route those paths to services. The public /health, /health/live and /health/ready answer on every host.'),
    healthHistory: z
      .object({
        maxEntries: z.number().int().min(10).max(100_000).default(1_000).describe('Probe results and transitions kept per service; older ones are deleted.'),
        maxAgeSeconds: z.number().int().min(60).max(30 * 86_400).default(86_400).describe('Probe results and transitions older than this are deleted.'),
      })
      .strict()
      .default({ maxEntries: 1_000, maxAgeSeconds: 86_400 })
      .describe('How much health-check history each service keeps.'),
    alerting: z
      .object({
        evaluationIntervalSeconds: z.number().int().min(10).max(3_600).default(30).describe('How often alert rules are evaluated.'),
        defaultRules: z.boolean().default(true).describe('Evaluate the built-in rules (error rate > 5 %, p95 > 2 s, origin CPU > 80 %, memory > 90 %, an unhealthy instance, an open breaker) besides the ones listed. They notify no channel unless redeclared with channels.'),
        rules: z.array(AlertRuleSchema).max(200).default([]).describe('Alert rules; one with the name of a built-in rule replaces it.'),
        channels: z.array(ChannelSchema).max(50).default([]).describe('Notification channels the rules name.'),
        retryBaseDelaySeconds: z.number().int().min(0).max(300).default(5).describe('First wait before a failed delivery is tried again; doubled each time.'),
      })
      .strict()
      .default({ evaluationIntervalSeconds: 30, defaultRules: true, rules: [], channels: [], retryBaseDelaySeconds: 5 })
      .describe('Alert rules and notification channels (more can be added through the admin API).'),
    statePlane: z
      .object({
        syncIntervalMs: z.number().int().min(100).max(60_000).default(1_000).describe('How often an isolate reports outcomes and in-flight counts to each service object and refreshes its copy of breaker, ejection and load state.'),
        callTimeoutMs: z.number().int().min(50).max(30_000).default(1_000).describe('Time limit of one Durable Object call.'),
        trailingFlush: z
          .boolean()
          .default(true)
          .describe('After a request, keep the isolate awake (waitUntil) until the next sync is due, so the last requests before traffic stops reach the global metrics. Off: they are counted with the next request\'s sync.'),
        unreachableBackoffMs: z
          .number()
          .int()
          .min(0)
          .max(60_000)
          .default(1_000)
          .describe("After a failed call to a policy's object, how long this isolate decides from the policy's failOpen without calling that object again (so an outage does not add a call and its timeout to every request)."),
        snapshotMaxAgeMs: z
          .number()
          .int()
          .min(100)
          .max(600_000)
          .optional()
          .describe("Age beyond which this isolate's copy of a service's breaker counts as unknown (the breaker then follows its failOpen). Default: five sync intervals."),
        tier: TierSettingsSchema.default(TierSettingsSchema.parse({})).describe('The location tier: regional objects between isolates and the global ones (docs/scale.md).'),
      })
      .strict()
      .default({ syncIntervalMs: 1_000, callTimeoutMs: 1_000, trailingFlush: true, unreachableBackoffMs: 1_000, tier: TierSettingsSchema.parse({}) })
      .describe('How isolates talk to the Durable Objects that hold global state.'),
    observability: ObservabilitySettingsSchema.default(ObservabilitySettingsSchema.parse({})).describe('Metrics recording, access logs and traces (docs/analytics.md).'),
  })
  .strict();

export const GatewayConfigSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
    gateway: GatewaySettingsSchema.default(GatewaySettingsSchema.parse({})).describe('Settings of the gateway as a whole.'),
    services: z.array(ServiceSchema).min(1).max(MAX_SERVICES).describe('The services behind the gateway. Bounded: every isolate loads them all and arms their health checks (see Limits).'),
  })
  .strict()
  .superRefine((config, ctx) => {
    checkAuthReferences(config, ctx);
    checkAlertingNames(config.gateway.alerting, ctx);
    const serviceNames = new Set<string>();
    const routeOwners = new Map<string, string>();
    // By prefix: only routes with the same prefix can shadow each other, and a scan of every earlier route made
    // validation quadratic (30,000 routes took 27.6 s in the registry object).
    const seenRoutes = new Map<string, { id: string; route: RouteConfig }[]>();
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
        const reserved = reservedPrefixOf(route.pathPrefix, config.gateway.adminHost !== undefined);
        if (reserved) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'pathPrefix'],
            message: config.gateway.adminHost
              ? `"${reserved}" is reserved for the gateway's own endpoints on every host`
              : `"${reserved}" is reserved for the gateway's own endpoints`,
          });
        }
        const owner = routeOwners.get(route.id);
        if (owner) ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `duplicate route id "${route.id}" (also in service "${owner}")` });
        routeOwners.set(route.id, service.name);

        // Two routes with the same prefix must be told apart by method or host, or one would shadow the other.
        let samePrefix = seenRoutes.get(route.pathPrefix);
        if (!samePrefix) seenRoutes.set(route.pathPrefix, (samePrefix = []));
        const shadowed = samePrefix.find(({ route: other }) => overlaps(other.methods, route.methods) && overlaps(other.hosts, route.hosts));
        if (shadowed) {
          ctx.addIssue({ code: 'custom', path: [...path, 'pathPrefix'], message: `same prefix, methods and hosts as route "${shadowed.id}"` });
        }
        samePrefix.push({ id: route.id, route });
      });
    });
  });

/**
 * The gateway endpoint a route prefix would collide with: the route would capture it, or it would capture the
 * route. With an admin host, only the endpoints public on every host count (and the root `/`, which every path
 * continues, is left to the catch-all logic of the router).
 */
export function reservedPrefixOf(pathPrefix: string, hasAdminHost: boolean): string | undefined {
  if (pathPrefix === '/') return undefined;
  if (hasAdminHost) {
    return PUBLIC_RESERVED_PREFIXES.find((prefix) =>
      prefix === '/health'
        ? PUBLIC_HEALTH_PATHS.some((endpoint) => endpoint === pathPrefix || endpoint.startsWith(`${pathPrefix}/`))
        : pathPrefix === prefix || pathPrefix.startsWith(`${prefix}/`) || prefix.startsWith(`${pathPrefix}/`),
    );
  }
  return RESERVED_PREFIXES.find((prefix) => pathPrefix === prefix || pathPrefix.startsWith(`${prefix}/`) || prefix.startsWith(`${pathPrefix}/`));
}

/** Rule and channel names are unique, and a rule's `service` exists only as a name (services may be registered later). */
function checkAlertingNames(alerting: z.output<typeof GatewaySettingsSchema>['alerting'], ctx: z.RefinementCtx): void {
  for (const [list, key] of [[alerting.rules, 'rules'], [alerting.channels, 'channels']] as const) {
    const seen = new Set<string>();
    list.forEach((entry, i) => {
      if (seen.has(entry.name)) ctx.addIssue({ code: 'custom', path: ['gateway', 'alerting', key, i, 'name'], message: `duplicate name "${entry.name}"` });
      seen.add(entry.name);
    });
  }
}

/** Issuer and introspection names are unique, and every name a policy uses exists. */
function checkAuthReferences(
  config: { gateway: z.output<typeof GatewaySettingsSchema>; services: z.output<typeof ServiceSchema>[] },
  ctx: z.RefinementCtx,
): void {
  const { auth } = config.gateway;
  const issuerNames = new Set<string>();
  const issuerValues = new Set<string>();
  auth.issuers.forEach((issuer, i) => {
    if (issuerNames.has(issuer.name)) {
      ctx.addIssue({ code: 'custom', path: ['gateway', 'auth', 'issuers', i, 'name'], message: `duplicate issuer name "${issuer.name}"` });
    }
    // A token names its issuer by `iss`: two entries with one `iss` would make the key and audience a guess.
    if (issuerValues.has(issuer.issuer)) {
      ctx.addIssue({ code: 'custom', path: ['gateway', 'auth', 'issuers', i, 'issuer'], message: `duplicate issuer "${issuer.issuer}"` });
    }
    issuerNames.add(issuer.name);
    issuerValues.add(issuer.issuer);
  });
  const introspectionNames = new Set<string>();
  auth.introspection.forEach((endpoint, i) => {
    if (introspectionNames.has(endpoint.name)) {
      ctx.addIssue({ code: 'custom', path: ['gateway', 'auth', 'introspection', i, 'name'], message: `duplicate introspection endpoint name "${endpoint.name}"` });
    }
    introspectionNames.add(endpoint.name);
  });
  auth.admin.issuers?.forEach((name, i) => {
    if (!issuerNames.has(name)) {
      ctx.addIssue({ code: 'custom', path: ['gateway', 'auth', 'admin', 'issuers', i], message: `no issuer named "${name}" in gateway.auth.issuers` });
    }
  });
  config.services.forEach((service, s) => {
    const policy = service.policies.auth;
    if (!policy) return;
    const path = ['services', s, 'policies', 'auth'];
    policy.issuers?.forEach((name, i) => {
      if (!issuerNames.has(name)) ctx.addIssue({ code: 'custom', path: [...path, 'issuers', i], message: `no issuer named "${name}" in gateway.auth.issuers` });
    });
    if ((policy.mode === 'jwt' || policy.mode === 'jwt-or-api-key') && issuerNames.size === 0) {
      ctx.addIssue({ code: 'custom', path: [...path, 'mode'], message: `mode "${policy.mode}" needs at least one issuer in gateway.auth.issuers` });
    }
    if (policy.mode === 'introspection') {
      if (policy.introspection === undefined) {
        ctx.addIssue({ code: 'custom', path: [...path, 'introspection'], message: 'required for mode "introspection"' });
      } else if (!introspectionNames.has(policy.introspection)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'introspection'], message: `no introspection endpoint named "${policy.introspection}" in gateway.auth.introspection` });
      }
    } else if (policy.introspection !== undefined) {
      ctx.addIssue({ code: 'custom', path: [...path, 'introspection'], message: 'only for mode "introspection"' });
    }
    if (policy.mode === 'none' && policy.rules.length > 0) {
      ctx.addIssue({ code: 'custom', path: [...path, 'rules'], message: 'rules need an authentication mode other than "none"' });
    }
  });
}

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
export type GatewaySettings = GatewayConfig['gateway'];
export type AuthSettings = GatewaySettings['auth'];
export type IssuerConfig = AuthSettings['issuers'][number];
export type CloudflareAccessConfig = z.output<typeof CloudflareAccessSchema>;
export type IntrospectionConfig = AuthSettings['introspection'][number];
export type AuthPolicyConfig = z.output<typeof AuthPolicySchema>;
export type CorsPolicyConfig = z.output<typeof CorsPolicySchema>;
export type AuthMode = (typeof AUTH_MODES)[number];
