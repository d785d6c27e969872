/** @module Authorization policy: the roles and scopes each route of a service requires. */
import type { ServicePolicy } from '../service-chain.ts';
import { authenticate } from './authenticate.ts';
import { insufficientAccess } from './challenge.ts';

/**
 * Runs after authentication. Every rule of the service that applies to the method and normalised path must be
 * satisfied by the caller's roles and scopes, or the answer is 403 (with an RFC 6750 `insufficient_scope`
 * challenge for bearer tokens). Requests on public paths carry no identity and no rule applies to them.
 */
export const authorize: ServicePolicy = {
  // Wherever authentication runs: the rules are about the identity it establishes.
  appliesTo: authenticate.appliesTo,
  admit(c) {
    const identity = c.get('identity');
    if (identity === undefined) return;
    const policy = c.get('gateway').auth.service(c.get('route').service.name);
    const unmet = policy.unmetRule(identity, policy.methodsOf(c.req.raw), c.get('path'));
    if (unmet) {
      const bearer = identity.method === 'jwt' || identity.method === 'introspection';
      throw insufficientAccess(policy.mode, c.get('gateway').auth.realm, unmet.scopes, bearer);
    }
  },
};
