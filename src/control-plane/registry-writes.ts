/**
 * @module How an admin change reaches the registry: sent whole to the registry object, which plans, validates,
 * audits and applies it in one serialised step (an If-Match is checked there too), retried safely under one
 * idempotency key, and in force in this isolate at once.
 */
import type { Context } from 'hono';
import type { WriteResult } from '../../durable-objects/service-registry.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { configSource, REGISTRY_NAME } from './config-source.ts';
import type { RegistryIntent } from './registry-plans.ts';

/** The registry's version as an entity tag: `"7"`. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * The version an `If-Match` header asks for; undefined when there is none or it is `*`.
 * RFC 9110 §13.1.1: If-Match uses the strong comparison, so a weak tag (`W/"7"`) can never match: 412.
 * @throws GatewayError invalid-request for a malformed tag or a version out of range, precondition-failed for a weak tag.
 */
export function ifMatchVersion(header: string | undefined, currentVersion: () => number): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(W\/)?"(\d+)"\s*$/.exec(header);
  if (!match) throw invalidIfMatch('expected an entity tag such as "7"');
  const version = Number(match[2]);
  if (!Number.isSafeInteger(version)) throw invalidIfMatch('the version is out of range');
  if (match[1]) {
    const current = currentVersion();
    throw new GatewayError('precondition-failed', { expected: `W/"${match[2]}"`, current }, { headers: { etag: etagOf(current) } });
  }
  return version;
}

function invalidIfMatch(message: string): GatewayError {
  return new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: 'If-Match', message }] } });
}

/**
 * Sends `intent` to the registry and returns the endpoint's answer and the new version. Without If-Match the write
 * applies to the registry as it is when it arrives (concurrent writes all land, in order); with one, only at that
 * version (else 412). The idempotency key is fixed before the first attempt: if a reply is lost and the call is
 * retried, the registry answers the first result instead of applying the write again.
 */
export async function writeRegistry(c: Context<AppEnv>, intent: RegistryIntent): Promise<{ status: 200 | 201; body: unknown; version: number }> {
  const source = configSource(c.env);
  const expected = ifMatchVersion(c.req.header('if-match'), () => source.version);
  const timeoutMs = c.get('gateway').config.gateway.statePlane.callTimeoutMs;
  const request = { key: crypto.randomUUID(), expectedVersion: expected ?? null, intent, base: source.base, actor: actorOf(c), requestId: c.get('trace').requestId };
  const outcome = await callDurableObject(
    () => c.env.REGISTRY.getByName(REGISTRY_NAME),
    // The answer's body is arbitrary JSON, which the RPC types cannot follow.
    (stub) => stub.write(request) as unknown as Promise<WriteResult>,
    { kind: 'admin', timeoutMs },
  );
  if (!outcome.ok) {
    const { kind, params, extensions, headers } = outcome.problem;
    throw new GatewayError(kind, params, { extensions, headers });
  }
  source.adopt(outcome.version, outcome.overlay);
  c.header('etag', etagOf(outcome.version));
  return { ...outcome.answer, version: outcome.version };
}

/** Who made an admin change, for the audit log. */
export function actorOf(c: Context<AppEnv>): string {
  const identity = c.get('identity');
  return identity ? `${identity.method}:${identity.subject}` : 'admin';
}
