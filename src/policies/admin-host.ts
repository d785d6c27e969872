/**
 * @module `gateway.adminHost`: when set, the admin API, the health detail endpoints, /services and /metrics answer
 * only on that host name, and the same paths on every other host go to the service routes like any other path.
 */
import { PUBLIC_HEALTH_PATHS } from '../config/schema.ts';
import { pathHasPrefix } from '../routing/normalize-path.ts';

/** Prefixes of the endpoints that need an admin (their public exceptions are listed in {@link PUBLIC_ADMIN_EXCEPTIONS}). */
export const ADMIN_PREFIXES = ['/gateway', '/alerts', '/health', '/services'] as const;
/**
 * Prefixes answered only on the admin host when one is set: the admin endpoints and the metrics (whose access rule
 * is the read plane's to set).
 */
export const ADMIN_HOST_PREFIXES = [...ADMIN_PREFIXES, '/metrics'] as const;
/** Paths under those prefixes open to anyone, on every host. */
export const PUBLIC_ADMIN_EXCEPTIONS: readonly string[] = ['/gateway/health', ...PUBLIC_HEALTH_PATHS];

/** Whether `path` is one of the endpoints answered only on the admin host (when one is set). */
export function isAdminPath(path: string): boolean {
  return ADMIN_HOST_PREFIXES.some((prefix) => pathHasPrefix(path, prefix)) && !PUBLIC_ADMIN_EXCEPTIONS.includes(path);
}

/** Whether the gateway answers its admin-only endpoints for a request to `hostname` (lower case, no port). */
export function servesAdminOn(adminHost: string | undefined, hostname: string): boolean {
  return adminHost === undefined || adminHost === hostname;
}

/** The paths the gateway answers itself (or may, if no service route claims "/"): the ones under its prefixes, the index, the OpenAPI document. */
export function isGatewayPath(path: string): boolean {
  return path === '/' || path === '/openapi.json' || ADMIN_HOST_PREFIXES.some((prefix) => pathHasPrefix(path, prefix));
}

/**
 * The path Hono routes a request for a service on, whatever its own: no gateway handler matches it, so Hono's
 * router matches a short constant instead of the request's path, and the request goes to the service chain
 * (which routes on the request's real, normalised path). Also what an admin path off the admin host becomes.
 */
export const SERVICE_REQUEST_PATH = '/__service-request';
