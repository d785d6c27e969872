/** @module Security headers on every response: HSTS (https only), nosniff, frame and referrer policy, CSP for the admin UI. */
import type { Context } from 'hono';
import { SecurityHeadersSchema, type GatewaySettings } from '../config/schema.ts';
import type { AppEnv } from '../env.ts';
import { pathHasPrefix } from '../routing/normalize-path.ts';

const DASHBOARD_PREFIX = '/gateway/dashboard';
const ADMIN_PREFIX = '/gateway';
/** The admin API answers JSON: nothing in it should ever load or be framed. */
const ADMIN_API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The header values, built once per configuration version. */
export class SecurityHeaderSet {
  /** Headers for every response. */
  readonly common: readonly (readonly [string, string])[];
  /** `Strict-Transport-Security`, for https responses; undefined when off. */
  readonly hsts: string | undefined;
  readonly dashboardCsp: string;
  readonly override: boolean;

  constructor(settings: GatewaySettings['securityHeaders']) {
    const common: [string, string][] = [];
    if (settings.contentTypeOptions) common.push(['x-content-type-options', 'nosniff']);
    if (settings.frameOptions !== 'off') common.push(['x-frame-options', settings.frameOptions]);
    if (settings.referrerPolicy !== 'off') common.push(['referrer-policy', settings.referrerPolicy]);
    this.common = common;
    this.hsts = settings.hstsMaxAgeSeconds > 0
      ? `max-age=${settings.hstsMaxAgeSeconds}${settings.hstsIncludeSubDomains ? '; includeSubDomains' : ''}`
      : undefined;
    this.dashboardCsp = settings.dashboardCsp;
    this.override = settings.overrideOrigin;
  }
}

const DEFAULTS = new SecurityHeaderSet(SecurityHeadersSchema.parse({}));

/**
 * Sets the security headers on `c.res`. Runs last on the way out (src/app.ts, the edge layer), so it sees every
 * response, problems included (even those for a request whose configuration could not be loaded, which get the
 * defaults). An origin's own value of a header is kept unless `overrideOrigin` is set. HSTS goes on https responses
 * only (RFC 6797 §7.2).
 */
export function applySecurityHeaders(c: Context<AppEnv>): void {
  const set = c.get('gateway')?.security ?? DEFAULTS;
  const headers = c.res.headers;
  // Indexed, not `for (const [name, value] of …)`: destructuring iterates each pair, an iterator object per header
  // per request (a few hundred bytes of garbage per response).
  for (let i = 0; i < set.common.length; i++) {
    const header = set.common[i]!;
    if (set.override || !headers.has(header[0])) headers.set(header[0], header[1]);
  }
  if (set.hsts && c.req.url.startsWith('https:') && (set.override || !headers.has('strict-transport-security'))) {
    headers.set('strict-transport-security', set.hsts);
  }
  const path = c.get('path');
  if (path !== undefined && pathHasPrefix(path, ADMIN_PREFIX)) {
    headers.set('content-security-policy', pathHasPrefix(path, DASHBOARD_PREFIX) ? set.dashboardCsp : ADMIN_API_CSP);
  }
}
