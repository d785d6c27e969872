/** @module Longest-prefix routing on the normalised path, with optional method and host conditions. */
import type { RouteConfig, ServiceConfig } from '../config/schema.ts';
import { pathHasPrefix } from './normalize-path.ts';

export interface RouteMatch {
  kind: 'match';
  service: ServiceConfig;
  route: RouteConfig;
  /** The normalised path, rewritten as the route says: what the origin receives. */
  upstreamPath: string;
}

export type RouteLookup =
  | RouteMatch
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

interface CompiledRoute {
  service: ServiceConfig;
  route: RouteConfig;
  methods: ReadonlySet<string> | undefined;
}

/**
 * Matches requests to service routes. Routes are tried longest prefix first; among routes with the same prefix,
 * those with host or method conditions come before the catch-alls, so the most specific route wins.
 */
export class Router {
  readonly #routes: CompiledRoute[];

  constructor(services: readonly ServiceConfig[]) {
    this.#routes = services
      .flatMap((service) =>
        service.routes.map((route) => ({ service, route, methods: route.methods && new Set<string>(route.methods) })),
      )
      .sort((a, b) => specificity(b.route) - specificity(a.route));
  }

  /**
   * @param path the normalised request path
   * @param host the request's host name, lower-case, without port
   */
  match(method: string, host: string, path: string): RouteLookup {
    let allow: Set<string> | undefined;
    for (const candidate of this.#routes) {
      const { route } = candidate;
      if (!pathHasPrefix(path, route.pathPrefix) || !hostMatches(route.hosts, host)) continue;
      if (candidate.methods && !candidate.methods.has(method)) {
        allow ??= new Set();
        for (const allowed of candidate.methods) allow.add(allowed);
        continue;
      }
      return { kind: 'match', service: candidate.service, route, upstreamPath: rewritePath(path, route) };
    }
    return allow ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'not-found' };
  }
}

function specificity(route: RouteConfig): number {
  // Prefix length dominates; host and method conditions break ties.
  return route.pathPrefix.length * 4 + (route.hosts ? 2 : 0) + (route.methods ? 1 : 0);
}

function hostMatches(hosts: readonly string[] | undefined, host: string): boolean {
  if (!hosts) return true;
  return hosts.some((pattern) =>
    pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern,
  );
}

/**
 * The path sent to the origin: the matched prefix removed (`stripPrefix`) or replaced (`rewritePrefix`).
 * Input and output are normalised paths, so the result always starts with a single "/".
 */
export function rewritePath(path: string, route: Pick<RouteConfig, 'pathPrefix' | 'stripPrefix' | 'rewritePrefix'>): string {
  if (!route.stripPrefix && route.rewritePrefix === undefined) return path;
  const rest = route.pathPrefix === '/' ? path : path.slice(route.pathPrefix.length);
  const base = route.rewritePrefix ?? '/';
  if (rest === '') return base;
  return base === '/' ? rest : `${base}${rest}`;
}
