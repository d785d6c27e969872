/**
 * @module The registry's live changes on top of the deployed configuration: how they merge, how a desired
 * configuration becomes changes, and how two configurations differ.
 *
 * The declarative file stays the reviewed, deployed base; the registry holds only what operators changed through
 * the admin API. A new deploy changes the base and the same changes still apply on top of it.
 */
import type { RegistryChange } from '../../durable-objects/service-registry.ts';
import type { GatewayConfig, ServiceConfig } from '../config/schema.ts';

/** A service's settings: everything but its name, routes and instances. */
export type ServiceSettings = Omit<ServiceConfig, 'name' | 'routes' | 'instances'>;
type Route = ServiceConfig['routes'][number];
type Instance = ServiceConfig['instances'][number];

export interface ServiceRecord {
  name: string;
  /** Replaces the base service's settings, or defines a service the base does not have. */
  settings: ServiceSettings | null;
  /** The service is removed, with its routes and instances. */
  deleted: boolean;
}

export interface InstanceRecord {
  service: string;
  id: string;
  url: string;
  weight: number;
  metadata: Record<string, string>;
  deleted: boolean;
}

export interface RouteRecord {
  id: string;
  service: string;
  route: Omit<Route, 'id'>;
  deleted: boolean;
}

export interface Overlay {
  /** Replaces the base's `gateway` settings when set. */
  gateway: GatewayConfig['gateway'] | null;
  services: ServiceRecord[];
  instances: InstanceRecord[];
  routes: RouteRecord[];
}

export const EMPTY_OVERLAY: Overlay = { gateway: null, services: [], instances: [], routes: [] };

/**
 * The base with the overlay applied, not yet validated (the caller parses it with the schema). Changes that refer
 * to a service the base no longer has are left out and listed in `skipped`.
 */
export function applyOverlay(base: GatewayConfig, overlay: Overlay): { config: GatewayConfig; skipped: string[] } {
  const services = new Map<string, ServiceConfig>(base.services.map((service) => [service.name, structuredClone(service)]));
  const skipped: string[] = [];
  for (const record of overlay.services) {
    const existing = services.get(record.name);
    if (record.deleted) services.delete(record.name);
    else if (existing && record.settings) Object.assign(existing, structuredClone(record.settings));
    else if (record.settings) services.set(record.name, { name: record.name, ...structuredClone(record.settings), routes: [], instances: [] });
  }
  for (const record of overlay.routes) {
    for (const service of services.values()) service.routes = service.routes.filter((route) => route.id !== record.id);
    if (record.deleted) continue;
    const service = services.get(record.service);
    if (service) service.routes.push({ ...structuredClone(record.route), id: record.id });
    else skipped.push(`route "${record.id}": service "${record.service}" does not exist`);
  }
  for (const record of overlay.instances) {
    const service = services.get(record.service);
    if (!service) {
      if (!record.deleted) skipped.push(`instance "${record.id}": service "${record.service}" does not exist`);
      continue;
    }
    service.instances = service.instances.filter((instance) => instance.id !== record.id);
    if (!record.deleted) service.instances.push(instanceOf(record));
  }
  return { config: { ...base, gateway: overlay.gateway ?? base.gateway, services: [...services.values()] }, skipped };
}

function instanceOf(record: InstanceRecord): Instance {
  const instance: Instance = { id: record.id, url: record.url, weight: record.weight };
  if (Object.keys(record.metadata).length > 0) instance.metadata = record.metadata;
  return instance;
}

function settingsOf(service: ServiceConfig): ServiceSettings {
  const { name: _name, routes: _routes, instances: _instances, ...settings } = service;
  return settings;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The overlay that turns `base` into `desired`: what `PUT /gateway/config` stores. */
export function overlayFor(base: GatewayConfig, desired: GatewayConfig): Overlay {
  const overlay: Overlay = { gateway: same(base.gateway, desired.gateway) ? null : desired.gateway, services: [], instances: [], routes: [] };
  const baseServices = new Map(base.services.map((service) => [service.name, service]));
  const desiredNames = new Set(desired.services.map((service) => service.name));
  for (const service of base.services) {
    if (!desiredNames.has(service.name)) overlay.services.push({ name: service.name, settings: null, deleted: true });
  }
  const baseRoutes = new Map(base.services.flatMap((service) => service.routes.map((route) => [route.id, { service: service.name, route }] as const)));
  const desiredRouteIds = new Set(desired.services.flatMap((service) => service.routes.map((route) => route.id)));
  for (const [id, { service }] of baseRoutes) {
    if (!desiredRouteIds.has(id) && desiredNames.has(service)) overlay.routes.push({ id, service, route: baseRoutes.get(id)!.route, deleted: true });
  }
  for (const service of desired.services) {
    const before = baseServices.get(service.name);
    if (!before || !same(settingsOf(before), settingsOf(service))) {
      overlay.services.push({ name: service.name, settings: settingsOf(service), deleted: false });
    }
    for (const route of service.routes) {
      const previous = baseRoutes.get(route.id);
      if (!previous || previous.service !== service.name || !same(previous.route, route)) {
        const { id, ...rest } = route;
        overlay.routes.push({ id, service: service.name, route: rest, deleted: false });
      }
    }
    const baseInstances = new Map((before?.instances ?? []).map((instance) => [instance.id, instance]));
    for (const instance of service.instances) {
      const previous = baseInstances.get(instance.id);
      if (!previous || !same(previous, instance)) {
        overlay.instances.push({ service: service.name, id: instance.id, url: instance.url, weight: instance.weight, metadata: instance.metadata ?? {}, deleted: false });
      }
      baseInstances.delete(instance.id);
    }
    for (const gone of baseInstances.values()) {
      overlay.instances.push({ service: service.name, id: gone.id, url: gone.url, weight: gone.weight, metadata: gone.metadata ?? {}, deleted: true });
    }
  }
  return overlay;
}

export interface ConfigChange {
  op: 'add' | 'remove' | 'change';
  /** e.g. `services[samples].instances[samples-3]`, `services[samples].policies`, `gateway`. */
  path: string;
  before?: unknown;
  after?: unknown;
}

/** What differs between two configurations, by service, route and instance identity (not by position). */
export function diffConfigs(before: GatewayConfig, after: GatewayConfig): ConfigChange[] {
  const changes: ConfigChange[] = [];
  if (!same(before.gateway, after.gateway)) changes.push({ op: 'change', path: 'gateway', before: before.gateway, after: after.gateway });
  const beforeServices = new Map(before.services.map((service) => [service.name, service]));
  const afterServices = new Map(after.services.map((service) => [service.name, service]));
  for (const [name, service] of beforeServices) if (!afterServices.has(name)) changes.push({ op: 'remove', path: `services[${name}]`, before: service });
  for (const [name, service] of afterServices) {
    const previous = beforeServices.get(name);
    if (!previous) {
      changes.push({ op: 'add', path: `services[${name}]`, after: service });
      continue;
    }
    const beforeSettings = settingsOf(previous) as Record<string, unknown>;
    const afterSettings = settingsOf(service) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(beforeSettings), ...Object.keys(afterSettings)])) {
      if (!same(beforeSettings[key], afterSettings[key])) {
        changes.push({ op: 'change', path: `services[${name}].${key}`, before: beforeSettings[key], after: afterSettings[key] });
      }
    }
    diffById(changes, `services[${name}].routes`, previous.routes, service.routes);
    diffById(changes, `services[${name}].instances`, previous.instances, service.instances);
  }
  return changes;
}

function diffById<T extends { id?: string }>(changes: ConfigChange[], path: string, before: readonly T[], after: readonly T[]): void {
  const previous = new Map(before.map((item) => [item.id, item]));
  const next = new Map(after.map((item) => [item.id, item]));
  for (const [id, item] of previous) if (!next.has(id)) changes.push({ op: 'remove', path: `${path}[${id}]`, before: item });
  for (const [id, item] of next) {
    const old = previous.get(id);
    if (!old) changes.push({ op: 'add', path: `${path}[${id}]`, after: item });
    else if (!same(old, item)) changes.push({ op: 'change', path: `${path}[${id}]`, before: old, after: item });
  }
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
