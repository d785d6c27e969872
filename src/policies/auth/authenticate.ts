/** @module Authentication policy: establishes `c.get('identity')` from the one credential the service's mode takes. */
import type { AppEnv, Env, Identity } from '../../env.ts';
import { GatewayError } from '../../errors/problem.ts';
import { ApiKeyStoreUnavailable, TooManyFailedAuthentications } from './api-keys.ts';
import type { AuthRuntime, ServiceAuth } from './auth-policy.ts';
import { credentialsRequired, insufficientAccess, invalidCredentials, malformedCredentials } from './challenge.ts';
import { readCredentials, type Credentials } from './credentials.ts';
import { IntrospectionUnavailable } from './introspection.ts';
import { KeyServerUnavailable } from './jwks-cache.ts';
import { TokenRejected } from './token-format.ts';
import type { ServicePolicy } from '../service-chain.ts';

/**
 * Runs after routing. Public paths and services of mode "none" pass without credentials (and without an identity);
 * every other request needs exactly one credential of a kind the service's mode accepts:
 * 401 with a `WWW-Authenticate` challenge when there is none or it is refused, 400 when it is ambiguous,
 * 503 when the key server, introspection endpoint or key store cannot answer. Never fails open.
 * A bearer token verified before (the verifier's cache) is decided at once, without waiting.
 */
export const authenticate: ServicePolicy = {
  appliesTo: (service, gateway) => gateway.auth.service(service.name).mode !== 'none',
  phase: 'auth',
  admit(c) {
    const gateway = c.get('gateway');
    const route = c.get('route');
    const policy = gateway.auth.service(route.service.name);
    if (policy.isPublic(policy.methodsOf(c.req.raw), c.get('path'))) return;
    const credentials = readCredentials(c.req.raw.headers);
    if (credentials.kind === 'bearer' && policy.mode !== 'api-key' && policy.mode !== 'introspection') {
      const cached = gateway.auth.jwt.cached(credentials.token, policy.issuers);
      if (cached) {
        c.set('identity', cached.identity);
        return;
      }
    }
    const clientAddress = c.req.header(gateway.config.gateway.clientIpHeader);
    return identify(gateway.auth, policy, credentials, c.env, route.service.name, clientAddress).then((identity) => {
      c.set('identity', identity);
    });
  },
};

async function identify(
  auth: AuthRuntime,
  policy: ServiceAuth,
  credentials: Credentials,
  env: Env,
  service: string,
  clientAddress: string | undefined,
): Promise<Identity> {
  const { mode } = policy;
  const { realm } = auth;
  const acceptsBearer = mode !== 'api-key';
  const acceptsApiKey = mode === 'api-key' || mode === 'jwt-or-api-key';
  if (credentials.kind === 'malformed') throw malformedCredentials(mode, realm);
  if (credentials.kind === 'none' || credentials.kind === 'other-scheme') throw credentialsRequired(mode, realm);
  if ((credentials.kind === 'bearer' && !acceptsBearer) || (credentials.kind === 'api-key' && !acceptsApiKey)) {
    throw credentialsRequired(mode, realm);
  }

  try {
    if (credentials.kind === 'api-key') {
      const { record, identity } = await auth.apiKeys.resolve(credentials.key, env, Date.now(), clientAddress);
      // A key is scoped to services: valid, but not for this one, is 403.
      if (!record.services.includes(service)) throw insufficientAccess(mode, realm, undefined, false);
      return identity;
    }
    if (mode === 'introspection') return await policy.introspector!.introspect(credentials.token, env);
    return (await auth.jwt.verify(credentials.token, env, policy.issuers)).identity;
  } catch (error) {
    if (error instanceof TokenRejected) throw invalidCredentials(mode, realm, error.failure);
    if (error instanceof TooManyFailedAuthentications) {
      const retryAfter = error.retryAfterSeconds;
      throw new GatewayError('too-many-failed-authentications', { retryAfter }, { cause: error, headers: { 'retry-after': String(retryAfter) } });
    }
    if (error instanceof KeyServerUnavailable) throw new GatewayError('key-server-unavailable', {}, { cause: error, headers: { 'retry-after': '5' } });
    if (error instanceof IntrospectionUnavailable || error instanceof ApiKeyStoreUnavailable) {
      throw new GatewayError('auth-service-unavailable', {}, { cause: error, headers: { 'retry-after': '5' } });
    }
    throw error;
  }
}
