/**
 * @module How an isolate reaches the location tier (docs/scale.md): when `gateway.statePlane.tier.enabled` and
 * the isolate's region is known, rate-limit leases, service syncs and configuration reads go to the region's
 * object (`<service>@<hint>`, `registry@<hint>`, created with that locationHint); otherwise, and for a backoff
 * after the region's object fails, to the global objects directly, as without the tier.
 */
import type { GatewayConfig } from '../../config/schema.ts';
import type { Env } from '../../env.ts';
import { callDurableObject } from './call-durable-object.ts';
import { defaultIsolateContext, type IsolateContext } from '../infra/isolate-context.ts';
import { locationHintOf, regionObjectName, type IsolatePlace } from '../infra/location-hints.ts';

type StatePlaneSettings = GatewayConfig['gateway']['statePlane'];

/** Notes the isolate's region from a request's `cf` object (the first request decides). */
export function noteIsolatePlace(cf: IsolatePlace | undefined, isolate: IsolateContext = defaultIsolateContext): void {
  if (isolate.placeKnown) return;
  isolate.placeKnown = true;
  isolate.locationHint = locationHintOf(cf);
}

/** The region's object to use for `key` now, or undefined: go direct. */
export function regionTarget(settings: StatePlaneSettings, key: string, isolate: IsolateContext = defaultIsolateContext): string | undefined {
  if (!settings.tier.enabled || !isolate.locationHint) return undefined;
  const name = regionObjectName(key, isolate.locationHint);
  return isolate.regionFailover(name, settings.unreachableBackoffMs).useRegion(isolate.now()) ? name : undefined;
}

/**
 * Calls the region's object `name` with `regional`, and on failure (but overload) the global object with
 * `direct` (and goes direct for the backoff). The tier is an optimisation: a region object's failure costs one extra call, never
 * a request.
 */
export async function throughRegion<T>(
  env: Env,
  name: string | undefined,
  settings: StatePlaneSettings,
  regional: (stub: ReturnType<Env['SERVICE_REGIONS']['getByName']>) => Promise<T>,
  direct: () => Promise<T>,
  options: { kind: 'rate-limit-lease' | 'service-sync' | 'config-poll'; background?: boolean },
  isolate: IsolateContext = defaultIsolateContext,
): Promise<T> {
  if (!name) return direct();
  try {
    // Created in the isolate's region (a hint only applies when the object is first created).
    return await callDurableObject(() => env.SERVICE_REGIONS.getByName(name, { locationHint: isolate.locationHint }), regional, {
      kind: options.kind,
      background: options.background,
      timeoutMs: settings.callTimeoutMs,
    });
  } catch (error) {
    // An overloaded region object is not bypassed: its isolates would move its load onto the global object,
    // which serves every region. The caller decides from the policy's failOpen, as for the global object.
    if ((error as { overloaded?: boolean }).overloaded === true) throw error;
    isolate.regionFailover(name, settings.unreachableBackoffMs).failed(isolate.now());
    console.error(JSON.stringify({ level: 'warn', event: 'region-object-failed', object: name, error: String(error) }));
    return direct();
  }
}

/** The settings a region object needs with each call. */
export function regionCallSettings(settings: StatePlaneSettings): { callTimeoutMs: number; syncIntervalMs: number; blockFactor: number } {
  return { callTimeoutMs: settings.callTimeoutMs, syncIntervalMs: settings.syncIntervalMs, blockFactor: settings.tier.blockFactor };
}
