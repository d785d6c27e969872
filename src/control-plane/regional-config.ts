/**
 * @module Configuration without waiting (location tier): an isolate reads the registry's overlay from its
 * region's copy (`_registry@<hint>`, a ServiceRegion object near it) rather than from the one registry object
 * wherever that lives, and the copy refreshes itself in the background. A staleness bound keeps a copy from
 * lingering: configuration not confirmed against the registry for `tier.configMaxStaleMs` is refreshed before a
 * request is served with it. Registry reads then grow with regions, not isolates. Off unless the tier is enabled.
 */
import type { GatewayConfig } from '../config/schema.ts';
import type { Env } from '../env.ts';
import type { RegionConfigCopy } from '../../durable-objects/service-region.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { defaultIsolateContext, type IsolateContext } from '../state/infra/isolate-context.ts';
import { regionTarget } from '../state/clients/tier.ts';

/** The registry copy's key in the tier: `_` cannot start a service name, so it never meets a service's object. */
export const REGISTRY_COPY_KEY = '_registry';

type StatePlaneSettings = GatewayConfig['gateway']['statePlane'];

/**
 * The region's copy of the registry, or undefined when the tier is off, the isolate's region is unknown or its
 * object failed (the caller then reads the registry itself).
 */
export async function readRegistryNear(env: Env, settings: StatePlaneSettings, background: boolean, isolate: IsolateContext = defaultIsolateContext): Promise<RegionConfigCopy | undefined> {
  const name = regionTarget(settings, REGISTRY_COPY_KEY, isolate);
  if (!name) return undefined;
  try {
    return await callDurableObject(
      () => env.SERVICE_REGIONS.getByName(name, { locationHint: isolate.locationHint }),
      (stub) => stub.config(settings.tier.configMaxStaleMs, settings.tier.regionPollIntervalMs, settings.callTimeoutMs),
      { kind: 'config-poll', background, timeoutMs: settings.callTimeoutMs },
    );
  } catch (error) {
    isolate.regionFailover(name, settings.unreachableBackoffMs).failed(isolate.now());
    console.error(JSON.stringify({ level: 'warn', event: 'region-object-failed', object: name, error: String(error) }));
    return undefined;
  }
}

/** Whether configuration last confirmed at `checkedAt` is past the staleness bound and must be refreshed before serving. */
export function mustRefreshBeforeServing(settings: StatePlaneSettings, checkedAt: number, now: number): boolean {
  return settings.tier.enabled && now - checkedAt > settings.tier.configMaxStaleMs;
}
