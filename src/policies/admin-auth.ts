/**
 * @module Protection of the gateway's own management endpoints: the `ADMIN_TOKEN` secret, a JWT with the admin role,
 * or a Cloudflare Access token of an allowed email or service token.
 */
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { AppEnv, Identity } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { pathHasPrefix } from '../routing/normalize-path.ts';
import { requestUrlParts } from '../routing/request-url.ts';
import { ADMIN_PREFIXES, PUBLIC_ADMIN_EXCEPTIONS, servesAdminOn } from './admin-host.ts';
import { credentialsRequired, insufficientAccess, invalidCredentials, malformedCredentials } from './auth/challenge.ts';
import { AccessNotAllowed, ACCESS_ASSERTION_HEADER } from './auth/cloudflare-access.ts';
import type { AuthRuntime } from './auth/auth-policy.ts';
import { readCredentials } from './auth/credentials.ts';
import { secretsEqual } from './auth/digest.ts';
import { KeyServerUnavailable } from './auth/jwks-cache.ts';
import { TokenRejected } from './auth/token-format.ts';

/** A shorter ADMIN_TOKEN could be guessed; it is ignored (and the fact logged) rather than trusted. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

export interface RequireAdminOptions {
  /** Normalised path prefixes to protect (segment-boundary matching). */
  prefixes: readonly string[];
  /** Exact normalised paths under those prefixes that stay open. */
  open?: readonly string[];
}

/**
 * Guards every path under `prefixes` (by default the admin API `/gateway/*` — dashboard and traces included —,
 * `/alerts/*`, `/health/*` and `/services`, except the public `/gateway/health`, `/health`, `/health/live` and
 * `/health/ready`): the request needs `Authorization: Bearer <ADMIN_TOKEN>` (compared in constant time) or a valid
 * JWT from an admin issuer carrying the admin role, or (with `gateway.auth.admin.access`) a `Cf-Access-Jwt-Assertion`
 * from the team's Access for an allowed email or service token. 401 with a challenge otherwise, 403 for a valid token
 * without the role. Other paths pass untouched.
 *
 * @example for (const prefix of ADMIN_PREFIXES) app.use(`${prefix}/*`, guard) // guard = requireAdmin(), before the admin endpoints
 */
export function requireAdmin(
  options: RequireAdminOptions = { prefixes: ADMIN_PREFIXES, open: PUBLIC_ADMIN_EXCEPTIONS },
): MiddlewareHandler<AppEnv> {
  const prefixes = [...options.prefixes];
  const open = new Set(options.open ?? []);
  // Not async for the requests it lets pass untouched (every proxied one): no async frame around their chain.
  return function requireAdmin(c, next) {
    const path = c.get('path');
    if (!prefixes.some((prefix) => pathHasPrefix(path, prefix)) || open.has(path)) return next();
    const gateway = c.get('gateway');
    // Off the admin host these paths are not the gateway's: they go to the service routes, under their own policies.
    if (!servesAdminOn(gateway.config.gateway.adminHost, requestUrlParts(c.req.url).hostname)) return next();
    return authenticateAdmin(c, next, gateway.auth);
  };
}

/** A request for the admin plane: passes on with the admin's identity, or is refused. */
async function authenticateAdmin(c: Context<AppEnv>, next: Next, auth: AuthRuntime): Promise<void> {
  const credentials = readCredentials(c.req.raw.headers);
  if (credentials.kind === 'malformed') throw malformedCredentials('jwt', auth.realm);

  // Cloudflare Access in front of the admin plane. Only its header counts, never its CF_Authorization cookie:
  // no cookie authenticates anything here, so a cross-site request carries no authority (no CSRF surface).
  const assertion = auth.adminAccess ? c.req.header(ACCESS_ASSERTION_HEADER) : undefined;
  if (auth.adminAccess && assertion !== undefined) {
    let accessFailure: GatewayError;
    try {
      c.set('identity', await auth.adminAccess.verify(assertion));
      return next();
    } catch (error) {
      if (error instanceof TokenRejected) accessFailure = invalidCredentials('jwt', auth.realm, error.failure);
      else if (error instanceof AccessNotAllowed) accessFailure = insufficientAccess('jwt', auth.realm, undefined, false);
      else if (error instanceof KeyServerUnavailable) accessFailure = new GatewayError('key-server-unavailable', {}, { cause: error, headers: { 'retry-after': '5' } });
      else throw error;
    }
    // A refused assertion grants nothing; a bearer credential sent along is still checked on its own.
    if (credentials.kind !== 'bearer') throw accessFailure;
  }
  if (credentials.kind !== 'bearer') throw credentialsRequired('jwt', auth.realm);

  const adminToken = c.env.ADMIN_TOKEN;
  if (adminToken && adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    console.error(JSON.stringify({ level: 'error', message: `ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters and is ignored` }));
  } else if (adminToken && (await secretsEqual(credentials.token, adminToken))) {
    c.set('identity', adminTokenIdentity(auth.adminRole));
    return next();
  }

  let identity: Identity;
  try {
    identity = (await auth.jwt.verify(credentials.token, c.env, auth.adminIssuers)).identity;
  } catch (error) {
    if (error instanceof TokenRejected) throw invalidCredentials('jwt', auth.realm, error.failure);
    if (error instanceof KeyServerUnavailable) throw new GatewayError('key-server-unavailable', {}, { cause: error, headers: { 'retry-after': '5' } });
    throw error;
  }
  if (!identity.roles.includes(auth.adminRole)) throw insufficientAccess('jwt', auth.realm, undefined, true);
  c.set('identity', identity);
  await next();
}

function adminTokenIdentity(role: string): Identity {
  return { method: 'admin-token', subject: 'admin-token', consumerId: 'admin-token:admin', roles: [role], scopes: [] };
}
