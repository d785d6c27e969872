/**
 * @module The service's policies as one middleware: for each configuration version and service, the list of the
 * policies that can act on its requests is worked out once, and a request runs only those. A policy that is off
 * for a service costs that service's requests nothing, not even a layer of dispatch.
 */
import type { MiddlewareHandler } from 'hono';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { AppEnv } from '../env.ts';
import { renderError } from '../errors/render-error.ts';

export interface ServicePolicy {
  /** Whether the policy can act on requests of `service` under `gateway`; decided once per configuration version. */
  appliesTo(service: ServiceConfig, gateway: GatewayRuntime): boolean;
  handler: MiddlewareHandler<AppEnv>;
}

/**
 * Runs, after routing, the `policies` (in this order) that apply to the matched service. Errors are rendered the way
 * Hono's own dispatch renders them (`c.error` set, `c.res` the problem), so a policy sees the same thing after
 * `await next()` as it would as a middleware of its own.
 */
export function serviceChain(policies: readonly ServicePolicy[]): MiddlewareHandler<AppEnv> {
  const compiled = new WeakMap<GatewayRuntime, Map<string, MiddlewareHandler<AppEnv>[]>>();
  const handlersFor = (gateway: GatewayRuntime, service: ServiceConfig) => {
    let byService = compiled.get(gateway);
    if (!byService) compiled.set(gateway, (byService = new Map()));
    let handlers = byService.get(service.name);
    if (!handlers) byService.set(service.name, (handlers = policies.filter((policy) => policy.appliesTo(service, gateway)).map((policy) => policy.handler)));
    return handlers;
  };

  return async function serviceChain(c, next) {
    const handlers = handlersFor(c.get('gateway'), c.get('route').service);
    const dispatch = async (i: number): Promise<void> => {
      if (i === handlers.length) return next();
      try {
        const response = await handlers[i]!(c, () => dispatch(i + 1));
        if (response instanceof Response) c.res = response;
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        c.error = error;
        c.res = await renderError(error, c);
      }
    };
    await dispatch(0);
  };
}
