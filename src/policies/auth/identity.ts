/** @module From claims to an Identity, and from an Identity to the headers the origin receives. */
import { DEFAULT_IDENTITY_HEADERS, type AuthPolicyConfig } from '../../config/schema.ts';
import type { Identity } from '../../env.ts';
import { RESERVED_REQUEST_HEADERS } from '../../proxy/headers.ts';

/** `readClaim({ realm_access: { roles: ['a'] } }, 'realm_access.roles')` → `['a']`. */
export function readClaim(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let value: unknown = claims;
  for (const name of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

// A role or scope name travels in a comma-separated header: visible ASCII, no comma.
const ACCESS_NAME = /^[\x21-\x2b\x2d-\x7e]{1,128}$/;
const MAX_ACCESS_ENTRIES = 100;

/**
 * Roles or scopes from a claim: an array of strings or a space-separated string (RFC 8693 §4.2 `scope`). Entries
 * that could not travel safely in a header are left out, which can only take rights away, never add them.
 */
export function accessList(value: unknown): readonly string[] {
  const entries = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  const out: string[] = [];
  for (const entry of entries) {
    if (typeof entry === 'string' && ACCESS_NAME.test(entry) && !out.includes(entry)) out.push(entry);
    if (out.length === MAX_ACCESS_ENTRIES) break;
  }
  return out;
}

/** How one identity header gets its value. */
type HeaderSource = (identity: Identity) => string | undefined;

/**
 * What the gateway does with identity headers for one service: the names it reserves (client copies are always
 * removed, also for anonymous requests) and how it fills them from the authenticated caller.
 */
export interface IdentityForwarding {
  /**
   * Lower-case names of the request headers only the gateway may set: the client address claims and the identity
   * headers. Client-sent copies are removed before forwarding.
   */
  readonly reserved: ReadonlySet<string>;
  readonly headers: readonly (readonly [name: string, source: HeaderSource])[];
}

/** Compiles a service's `identityHeaders`; the default names stay reserved even when a service maps others. */
export function identityForwarding(mapping: AuthPolicyConfig['identityHeaders'] | undefined): IdentityForwarding {
  const effective: Record<string, string> = mapping ?? DEFAULT_IDENTITY_HEADERS;
  return {
    reserved: new Set([...RESERVED_REQUEST_HEADERS, ...Object.keys(DEFAULT_IDENTITY_HEADERS), ...Object.keys(effective)]),
    headers: Object.entries(effective).map(([name, source]) => [name, headerSource(source)] as const),
  };
}

function headerSource(source: string): HeaderSource {
  switch (source) {
    case 'subject':
      return (identity) => identity.subject;
    case 'consumerId':
      return (identity) => identity.consumerId;
    case 'method':
      return (identity) => identity.method;
    case 'roles':
      return (identity) => identity.roles.join(',');
    case 'scopes':
      return (identity) => identity.scopes.join(',');
    default: {
      const path = source.slice('claim:'.length);
      return (identity) => claimHeaderValue(identity.claims && readClaim(identity.claims, path));
    }
  }
}

function claimHeaderValue(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((entry) => typeof entry === 'string')) return value.join(',');
  return undefined;
}

/**
 * Top-level claim names that some service's `identityHeaders` reads (`claim:tenant`, `claim:realm_access.roles`).
 * Identities keep only these, so the caches of verified tokens do not hold whole payloads.
 */
export function claimsInUse(mappings: readonly (Readonly<Record<string, string>> | undefined)[]): ReadonlySet<string> {
  const names = new Set<string>();
  for (const mapping of mappings) {
    for (const source of Object.values(mapping ?? {})) {
      if (source.startsWith('claim:')) names.add(source.slice('claim:'.length).split('.')[0]!);
    }
  }
  return names;
}

/** The members of `claims` named in `keep`; undefined when there are none to keep. */
export function retainClaims(claims: Readonly<Record<string, unknown>>, keep: ReadonlySet<string>): Record<string, unknown> | undefined {
  if (keep.size === 0) return undefined;
  const kept: Record<string, unknown> = {};
  for (const name of keep) if (Object.hasOwn(claims, name)) kept[name] = claims[name];
  return kept;
}
