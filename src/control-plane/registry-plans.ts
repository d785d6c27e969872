/**
 * @module What each admin write means, decided from the configuration as it stands at the moment it is applied.
 * Pure functions: the registry object runs them inside its own serialised write (read, plan, validate, store with
 * no await in between), so concurrent writes without If-Match apply in order and none is lost or refused.
 */
import type { RegistryChange } from '../../durable-objects/service-registry.ts';
import type { GatewayConfig, ServiceConfig } from '../config/schema.ts';
import { GatewayError } from '../errors/problem.ts';
import { diffConfigs, overlayFor, type Overlay } from './overlay.ts';

type RouteBody = Omit<ServiceConfig['routes'][number], 'id'> & { service: string };

/** An admin write, as data: what the endpoint was asked, not yet what it changes. */
export type RegistryIntent =
  | { kind: 'register-instance'; service: string; id?: string; url: string; weight: number; metadata: Record<string, string> }
  | { kind: 'deregister-instance'; service: string; id: string }
  | { kind: 'save-route'; mode: 'create' | 'put'; id?: string; body: RouteBody }
  | { kind: 'delete-route'; id: string }
  | { kind: 'apply-config'; desired: GatewayConfig };

/** What the endpoint answers once the write is in: its status and body. */
export interface WriteAnswer {
  status: 200 | 201;
  body: unknown;
}

export interface ChangePlan {
  /** Nothing to change (an idempotent repeat): nothing is written or audited. */
  noop?: boolean;
  change: RegistryChange;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
  answer: WriteAnswer;
}

export interface CurrentRegistry {
  /** The deployed configuration the registry's changes apply to. */
  base: GatewayConfig;
  /** The base with the changes applied, validated. */
  config: GatewayConfig;
  overlay: Overlay;
}

function isRegistered(overlay: Overlay, service: string, instance: string): boolean {
  return overlay.instances.some((record) => record.service === service && record.id === instance && !record.deleted);
}

export function instanceView(service: ServiceConfig, instance: ServiceConfig['instances'][number], overlay: Overlay) {
  return {
    id: instance.id,
    url: instance.url,
    weight: instance.weight,
    metadata: instance.metadata ?? {},
    source: isRegistered(overlay, service.name, instance.id) ? ('registry' as const) : ('file' as const),
  };
}

export function routeView(service: ServiceConfig, route: ServiceConfig['routes'][number], overlay: Overlay) {
  const registered = overlay.routes.some((record) => record.id === route.id && !record.deleted);
  return { ...route, service: service.name, source: registered ? ('registry' as const) : ('file' as const) };
}

/**
 * The change `intent` makes to `current`.
 * @throws GatewayError 404 (unknown service, instance or route) or 409 (an id taken by something else).
 */
export function planWrite(intent: RegistryIntent, current: CurrentRegistry): ChangePlan {
  switch (intent.kind) {
    case 'register-instance':
      return planRegisterInstance(intent, current);
    case 'deregister-instance':
      return planDeregisterInstance(intent, current);
    case 'save-route':
      return planSaveRoute(intent, current);
    case 'delete-route':
      return planDeleteRoute(intent, current);
    case 'apply-config':
      return planApplyConfig(intent, current);
  }
}

function planRegisterInstance(intent: Extract<RegistryIntent, { kind: 'register-instance' }>, { config }: CurrentRegistry): ChangePlan {
  const service = config.services.find((s) => s.name === intent.service);
  if (!service) throw new GatewayError('service-not-found', { service: intent.service });
  let id = intent.id;
  let existed = false;
  if (id) {
    const current = service.instances.find((instance) => instance.id === id);
    if (current) {
      const same = current.url === intent.url && current.weight === intent.weight && JSON.stringify(current.metadata ?? {}) === JSON.stringify(intent.metadata);
      if (!same) throw new GatewayError('resource-exists', { resource: `instance "${id}" in service "${intent.service}"` });
      existed = true;
    }
  } else {
    // Chosen here, inside the serialised write, so two registrations at once never pick the same id.
    const taken = new Set(service.instances.map((instance) => instance.id));
    let n = service.instances.length + 1;
    while (taken.has(`${service.name}-${n}`)) n += 1;
    id = `${service.name}-${n}`;
  }
  const record = { service: intent.service, id, url: intent.url, weight: intent.weight, metadata: intent.metadata, deleted: false };
  return {
    noop: existed,
    change: { instances: [record] },
    action: 'instance.register',
    target: `services/${intent.service}/instances/${id}`,
    after: record,
    answer: { status: existed ? 200 : 201, body: { id, url: intent.url, weight: intent.weight, metadata: intent.metadata, source: 'registry' } },
  };
}

function planDeregisterInstance(intent: Extract<RegistryIntent, { kind: 'deregister-instance' }>, { config, overlay }: CurrentRegistry): ChangePlan {
  const service = config.services.find((s) => s.name === intent.service);
  if (!service) throw new GatewayError('service-not-found', { service: intent.service });
  const instance = service.instances.find((i) => i.id === intent.id);
  if (!instance) throw new GatewayError('resource-not-found', { resource: `instance "${intent.id}" in service "${intent.service}"` });
  const view = instanceView(service, instance, overlay);
  return {
    change: { instances: [{ service: intent.service, id: intent.id, url: instance.url, weight: instance.weight, metadata: instance.metadata ?? {}, deleted: true }] },
    action: 'instance.deregister',
    target: `services/${intent.service}/instances/${intent.id}`,
    before: view,
    answer: { status: 200, body: view },
  };
}

function planSaveRoute(intent: Extract<RegistryIntent, { kind: 'save-route' }>, { config }: CurrentRegistry): ChangePlan {
  const { body } = intent;
  const service = config.services.find((s) => s.name === body.service);
  if (!service) throw new GatewayError('service-not-found', { service: body.service });
  const all = config.services.flatMap((s) => s.routes.map((route) => ({ service: s.name, route })));
  let routeId = intent.id;
  const existing = routeId ? all.find((entry) => entry.route.id === routeId) : undefined;
  if (existing && intent.mode === 'create') throw new GatewayError('resource-exists', { resource: `route "${routeId}"` });
  if (!routeId) {
    let n = service.routes.length + 1;
    while (all.some((entry) => entry.route.id === `${service.name}-${n}`)) n += 1;
    routeId = `${service.name}-${n}`;
  }
  const { service: _service, ...route } = body;
  return {
    change: { routes: [{ id: routeId, service: body.service, route, deleted: false }] },
    action: existing ? 'route.replace' : 'route.create',
    target: `routes/${routeId}`,
    before: existing ? { service: existing.service, ...existing.route } : undefined,
    after: { service: body.service, id: routeId, ...route },
    answer: { status: existing ? 200 : 201, body: { ...route, id: routeId, service: body.service, source: 'registry' } },
  };
}

function planDeleteRoute(intent: Extract<RegistryIntent, { kind: 'delete-route' }>, { config, overlay }: CurrentRegistry): ChangePlan {
  for (const service of config.services) {
    const route = service.routes.find((r) => r.id === intent.id);
    if (!route) continue;
    const { id: _id, ...rest } = route;
    const view = routeView(service, route, overlay);
    return {
      change: { routes: [{ id: intent.id, service: service.name, route: rest, deleted: true }] },
      action: 'route.delete',
      target: `routes/${intent.id}`,
      before: view,
      answer: { status: 200, body: view },
    };
  }
  throw new GatewayError('resource-not-found', { resource: `route "${intent.id}"` });
}

function planApplyConfig(intent: Extract<RegistryIntent, { kind: 'apply-config' }>, { base, config }: CurrentRegistry): ChangePlan {
  const changes = diffConfigs(config, intent.desired);
  return {
    // The configuration exactly as it runs (order included: it can decide between equally specific routes): nothing
    // is written or audited, and the version stays, so other operators' If-Match values stay good.
    noop: JSON.stringify(config) === JSON.stringify(intent.desired),
    change: { replaceAll: overlayFor(base, intent.desired) },
    action: 'config.apply',
    target: 'config',
    before: changes.map(({ op, path, before }) => ({ op, path, before })),
    after: changes.map(({ op, path, after }) => ({ op, path, after })),
    answer: { status: 200, body: changes },
  };
}
