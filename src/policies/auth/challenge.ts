/** @module 401, 403 and 400 answers to callers, with the `WWW-Authenticate` challenges of RFC 6750 §3. */
import type { AuthMode } from '../../config/schema.ts';
import { GatewayError } from '../../errors/problem.ts';
import type { TokenFailure } from './token-format.ts';

/** RFC 6750 §3.1 error codes. */
type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

// Fixed texts: the client learns whether to refresh its token, never which internal check failed.
const DESCRIPTIONS: Record<TokenFailure, string> = {
  expired: 'The access token expired',
  'not-yet-valid': 'The access token is not valid yet',
  invalid: 'The access token is invalid',
};

/** The schemes a mode accepts, in challenge order. */
function schemesOf(mode: AuthMode): ('Bearer' | 'ApiKey')[] {
  if (mode === 'api-key') return ['ApiKey'];
  if (mode === 'jwt-or-api-key') return ['Bearer', 'ApiKey'];
  return ['Bearer'];
}

/**
 * `Bearer realm="edge-gateway", error="invalid_token", error_description="…"` (RFC 6750 §3), plus an `ApiKey`
 * challenge where API keys are accepted (RFC 9110 §11.6.1 allows several).
 */
export function challenge(mode: AuthMode, realm: string, error?: { code: BearerError; description?: string; scope?: string }): string {
  return schemesOf(mode)
    .map((scheme) => {
      let value = `${scheme} realm="${realm}"`;
      if (scheme === 'Bearer' && error) {
        value += `, error="${error.code}"`;
        if (error.description) value += `, error_description="${error.description}"`;
        if (error.scope) value += `, scope="${error.scope}"`;
      }
      return value;
    })
    .join(', ');
}

/** 401: no credentials the mode accepts. No error code, as RFC 6750 §3.1 asks when none was sent. */
export function credentialsRequired(mode: AuthMode, realm: string): GatewayError {
  return new GatewayError('unauthorized', {}, { headers: { 'www-authenticate': challenge(mode, realm) } });
}

/** 401: the credentials were refused. */
export function invalidCredentials(mode: AuthMode, realm: string, failure: TokenFailure = 'invalid'): GatewayError {
  const header = challenge(mode, realm, { code: 'invalid_token', description: DESCRIPTIONS[failure] });
  return new GatewayError('unauthorized', {}, { headers: { 'www-authenticate': header } });
}

/** 400: several credentials, or one that cannot be parsed. */
export function malformedCredentials(mode: AuthMode, realm: string): GatewayError {
  return new GatewayError('malformed-credentials', {}, { headers: { 'www-authenticate': challenge(mode, realm, { code: 'invalid_request' }) } });
}

/** 403: authenticated, but without the roles or scopes the resource needs. */
export function insufficientAccess(mode: AuthMode, realm: string, scopes: readonly string[] | undefined, bearer: boolean): GatewayError {
  const headers: Record<string, string> = {};
  if (bearer) {
    headers['www-authenticate'] = challenge(mode === 'api-key' ? 'jwt' : mode, realm, {
      code: 'insufficient_scope',
      ...(scopes && scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    });
  }
  return new GatewayError('forbidden', {}, { headers });
}
