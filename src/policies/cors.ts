/** @module CORS per service (Fetch standard §3.2): preflights answered at the edge, headers added to responses. */
import type { Context } from 'hono';
import type { CorsPolicyConfig, GatewayConfig } from '../config/schema.ts';
import type { AppEnv } from '../env.ts';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import { GatewayError } from '../errors/problem.ts';
import { requestUrlParts } from '../routing/request-url.ts';
import { answerWithProblem } from './service-chain.ts';

/** One service's CORS policy, with its header values built once. */
export class CorsPolicy {
  readonly #exact: ReadonlySet<string>;
  /** `https://*.example.com` → scheme `https://` and suffix `.example.com`. */
  readonly #patterns: readonly { scheme: string; suffix: string }[];
  readonly #any: boolean;
  readonly #methods: ReadonlySet<string>;
  readonly #headers: ReadonlySet<string>;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly credentials: boolean;
  readonly maxAge: string;

  constructor(config: CorsPolicyConfig) {
    this.#any = config.allowedOrigins.includes('*');
    this.#exact = new Set(config.allowedOrigins.filter((origin) => origin !== '*' && !origin.includes('*')));
    this.#patterns = config.allowedOrigins
      .filter((origin) => origin.includes('://*.'))
      .map((origin) => {
        const [scheme, host] = origin.split('://*') as [string, string];
        return { scheme: `${scheme}://`, suffix: host };
      });
    this.#methods = new Set(config.allowedMethods);
    this.#headers = new Set(config.allowedHeaders);
    this.allowMethods = config.allowedMethods.join(', ');
    this.allowHeaders = config.allowedHeaders.join(', ');
    this.exposeHeaders = config.exposedHeaders.join(', ');
    this.credentials = config.allowCredentials;
    this.maxAge = String(config.maxAgeSeconds);
  }

  allowsOrigin(origin: string): boolean {
    if (this.#any || this.#exact.has(origin)) return true;
    return this.#patterns.some(
      ({ scheme, suffix }) => origin.startsWith(scheme) && origin.endsWith(suffix) && origin.length > scheme.length + suffix.length && /^[a-z0-9.-]+$/.test(origin.slice(scheme.length, origin.length - suffix.length)),
    );
  }

  /** `Access-Control-Allow-Origin` for an allowed origin: "*" only when any origin is allowed without credentials. */
  allowOriginValue(origin: string): string {
    return this.#any && !this.credentials ? '*' : origin;
  }

  allowsPreflight(method: string, requestHeaders: string | undefined): boolean {
    if (!this.#methods.has(method)) return false;
    if (!requestHeaders) return true;
    return requestHeaders.split(',').every((name) => {
      const header = name.trim().toLowerCase();
      return header === '' || this.#headers.has(header);
    });
  }
}

/** Compiles every service's CORS policy. */
export function corsPolicies(config: GatewayConfig): ReadonlyMap<string, CorsPolicy> {
  const policies = new Map<string, CorsPolicy>();
  for (const service of config.services) if (service.policies.cors) policies.set(service.name, new CorsPolicy(service.policies.cors));
  return policies;
}

/**
 * The CORS step of the service chain (src/app.ts), around the rest of it (`inner`: routing, policies, forward).
 * Before routing: answers a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) for a service
 * with a CORS policy itself, 204 when allowed and 403 when not, without touching the origin. The route is looked up
 * with the method the preflight asks about, so routes limited to e.g. GET and POST still get their preflight.
 * After the rest of the chain: adds the CORS headers to its answer (a problem too, so a browser can read it) for
 * allowed origins, `Vary: Origin` to all. Services without a policy are left to their origin.
 */
export function withCors(c: Context<AppEnv>, inner: (c: Context<AppEnv>) => Promise<Response>): Promise<Response> {
  // No service has CORS (the common case): nothing to answer or add, so no async frame around the rest of the chain.
  const gateway = c.get('gateway');
  if (gateway.cors.size === 0) return inner(c);
  return corsAround(c, inner, gateway);
}

async function corsAround(c: Context<AppEnv>, inner: (c: Context<AppEnv>) => Promise<Response>, gateway: GatewayRuntime): Promise<Response> {
  const origin = c.req.header('origin');
  if (origin !== undefined && c.req.method === 'OPTIONS') {
    const requestedMethod = c.req.header('access-control-request-method');
    if (requestedMethod !== undefined) {
      const lookup = gateway.router.match(requestedMethod, requestUrlParts(c.req.url).hostname, c.get('path'));
      const policy = lookup.kind === 'match' ? gateway.cors.get(lookup.service.name) : undefined;
      if (policy) return preflight(policy, origin, requestedMethod, c.req.header('access-control-request-headers'), c.get('trace').requestId);
    }
  }

  let answer: Response;
  try {
    answer = await inner(c);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    answer = answerWithProblem(c, error);
  }

  const route = c.get('route');
  const policy = route && gateway.cors.get(route.service.name);
  if (!policy) return answer;
  const headers = answer.headers;
  // The gateway owns CORS for this service: an origin's own CORS headers would contradict it.
  for (const name of ORIGIN_CORS_HEADERS) if (headers.has(name)) headers.delete(name);
  headers.append('vary', 'Origin');
  if (origin === undefined || !policy.allowsOrigin(origin)) return answer;
  headers.set('access-control-allow-origin', policy.allowOriginValue(origin));
  if (policy.credentials) headers.set('access-control-allow-credentials', 'true');
  if (policy.exposeHeaders) headers.set('access-control-expose-headers', policy.exposeHeaders);
  return answer;
}

const ORIGIN_CORS_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers'];

function preflight(policy: CorsPolicy, origin: string, method: string, requestHeaders: string | undefined, requestId: string): Response {
  if (!policy.allowsOrigin(origin) || !policy.allowsPreflight(method, requestHeaders)) {
    throw new GatewayError('cors-rejected', {}, { headers: { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' } });
  }
  const headers = new Headers({
    'access-control-allow-origin': policy.allowOriginValue(origin),
    'access-control-allow-methods': policy.allowMethods,
    'access-control-max-age': policy.maxAge,
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'x-request-id': requestId,
  });
  if (policy.allowHeaders) headers.set('access-control-allow-headers', policy.allowHeaders);
  if (policy.credentials) headers.set('access-control-allow-credentials', 'true');
  return new Response(null, { status: 204, headers });
}
