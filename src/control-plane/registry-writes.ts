/**
 * @module How an admin change reaches the registry: validated against the configuration it would produce, applied
 * only if nobody changed the registry meanwhile (ETag / If-Match), audited, and in force in this isolate at once.
 */
import type { Context } from 'hono';
import type { RegistryChange } from '../../durable-objects/service-registry.ts';
import { ConfigError, parseGatewayConfig } from '../config/load.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { callDurableObject } from '../state/call-durable-object.ts';
import { configSource, REGISTRY_NAME } from './config-source.ts';
import { applyOverlay, type Overlay } from './overlay.ts';

/** The registry's version as an entity tag: `"7"`. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * The version an `If-Match` header asks for; undefined when there is none or it is `*`.
 * @throws GatewayError invalid-request for a malformed tag.
 */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(header);
  if (!match) {
    throw new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: 'If-Match', message: 'expected an entity tag such as "7"' }] } });
  }
  return Number(match[1]);
}

/** Upserts `change` into `overlay` the way the registry stores it: by service name, service+instance id, route id. */
export function withChange(overlay: Overlay, change: RegistryChange): Overlay {
  if (change.replaceAll) return change.replaceAll;
  const upsert = <T>(list: T[], updates: T[] | undefined, key: (item: T) => string): T[] => {
    if (!updates?.length) return list;
    const byKey = new Map(list.map((item) => [key(item), item]));
    for (const update of updates) byKey.set(key(update), update);
    return [...byKey.values()];
  };
  return {
    gateway: change.gateway ?? overlay.gateway,
    services: upsert(overlay.services, change.services, (s) => s.name),
    instances: upsert(overlay.instances, change.instances, (i) => `${i.service}\u0000${i.id}`),
    routes: upsert(overlay.routes, change.routes, (r) => r.id),
  };
}

export interface ChangePlan<T> {
  /** Nothing to change (an idempotent repeat): nothing is written or audited. */
  noop?: boolean;
  change: RegistryChange;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
  /** What the endpoint answers with once the change is in. */
  result: T;
}

/**
 * Reads the registry, lets `plan` decide the change from the configuration as it stands, validates the configuration
 * the change would produce, and applies it if the registry is still at the version read. With an `If-Match` the
 * client's version must be the current one (else 412); without, a race with another writer is retried.
 */
export async function changeRegistry<T>(
  c: Context<AppEnv>,
  plan: (current: { config: GatewayConfig; overlay: Overlay; version: number }) => ChangePlan<T>,
): Promise<{ result: T; version: number }> {
  const expected = ifMatchVersion(c.req.header('if-match'));
  const source = configSource(c.env);
  const timeoutMs = c.get('gateway').config.gateway.statePlane.callTimeoutMs;
  const registry = () => c.env.REGISTRY.getByName(REGISTRY_NAME);
  for (let attempt = 1; ; attempt++) {
    const { version, overlay } = await callDurableObject(registry, (stub) => stub.snapshot(), { kind: 'admin', timeoutMs });
    if (expected !== undefined && expected !== version) {
      throw new GatewayError('precondition-failed', { expected, current: version }, { headers: { etag: etagOf(version) } });
    }
    const current = parseGatewayConfig(applyOverlay(source.base, overlay).config, `registry version ${version}`);
    const step = plan({ config: current, overlay, version });
    if (step.noop) {
      c.header('etag', etagOf(version));
      return { result: step.result, version };
    }
    const next = withChange(overlay, step.change);
    try {
      parseGatewayConfig(applyOverlay(source.base, next).config, 'the changed configuration');
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new GatewayError('invalid-configuration', { count: error.issues.length }, { extensions: { errors: error.issues.map(issueOf) } });
    }
    const audit = {
      actor: actorOf(c),
      action: step.action,
      target: step.target,
      before: step.before,
      after: step.after,
      requestId: c.get('trace').requestId,
    };
    const outcome = await callDurableObject(registry, (stub) => stub.apply(version, step.change, audit), { kind: 'admin', timeoutMs });
    if (outcome.applied) {
      source.adopt(outcome.version, next);
      c.header('etag', etagOf(outcome.version));
      return { result: step.result, version: outcome.version };
    }
    if (expected !== undefined || attempt >= 3) {
      throw new GatewayError('precondition-failed', { expected: version, current: outcome.version }, { headers: { etag: etagOf(outcome.version) } });
    }
  }
}

/** Who made an admin change, for the audit log. */
export function actorOf(c: Context<AppEnv>): string {
  const identity = c.get('identity');
  return identity ? `${identity.method}:${identity.subject}` : 'admin';
}

/** `services[2].instances[0].url: expected ...` → `{ path, message }`. */
function issueOf(issue: string): { path: string; message: string } {
  const separator = issue.indexOf(': ');
  return separator === -1 ? { path: '', message: issue } : { path: issue.slice(0, separator), message: issue.slice(separator + 2) };
}
