/**
 * @module How an isolate reaches the location tier (docs/scale.md): when `gateway.statePlane.tier.enabled` and
 * the isolate's region is known, service syncs and rate-limit leases go in one batched exchange per sync period to
 * the region's object (`_all@<hint>#<shard>`, created with that locationHint; src/state/clients/region-exchange.ts),
 * and configuration reads to `_registry@<hint>`; otherwise, and for a backoff after the region's object fails, to
 * the global objects directly, as without the tier.
 */
import type { GatewayConfig } from '../../config/schema.ts';
import type { Env } from '../../env.ts';
import { callDurableObject } from './call-durable-object.ts';
import type { ExchangeTransport, RegionExchangeClient } from './region-exchange.ts';
import { defaultIsolateContext, type IsolateContext } from '../infra/isolate-context.ts';
import { exchangeObjectName, locationHintOf, regionObjectName, type IsolatePlace } from '../infra/location-hints.ts';
import type { RegionCallSettings } from '../protocol/region-exchange-protocol.ts';

type StatePlaneSettings = GatewayConfig['gateway']['statePlane'];

/** Notes the isolate's region from a request's `cf` object (the first request decides). */
export function noteIsolatePlace(cf: IsolatePlace | undefined, isolate: IsolateContext = defaultIsolateContext): void {
  if (isolate.placeKnown) return;
  isolate.placeKnown = true;
  isolate.locationHint = locationHintOf(cf);
}

/** The region's object to use for `key` now (the registry copy), or undefined: go direct. */
export function regionTarget(settings: StatePlaneSettings, key: string, isolate: IsolateContext = defaultIsolateContext): string | undefined {
  if (!settings.tier.enabled || !isolate.locationHint) return undefined;
  const name = regionObjectName(key, isolate.locationHint);
  return isolate.regionFailover(name, settings.unreachableBackoffMs).useRegion(isolate.now()) ? name : undefined;
}

/** The isolate's batched exchange with its region's object, or undefined when the tier is off or the region unknown. */
export function regionExchange(settings: StatePlaneSettings, isolate: IsolateContext = defaultIsolateContext): { client: RegionExchangeClient; name: string } | undefined {
  if (!settings.tier.enabled || !isolate.locationHint) return undefined;
  const name = exchangeObjectName(isolate.locationHint, isolate.isolateId, settings.tier.shardsPerRegion);
  return { client: isolate.regionExchange(name, settings.unreachableBackoffMs), name };
}

/** The exchange's calls through the Worker's bindings: the region object `name`, else the global objects. */
export function exchangeTransport(env: Env, settings: StatePlaneSettings, name: string, background: boolean, isolate: IsolateContext = defaultIsolateContext): ExchangeTransport {
  const timeoutMs = settings.callTimeoutMs;
  return {
    exchange: (request) =>
      // Created in the isolate's region (a hint only applies when the object is first created).
      callDurableObject(() => env.SERVICE_REGIONS.getByName(name, { locationHint: isolate.locationHint }), (stub) => stub.exchange(request, regionCallSettings(settings)), {
        kind: request.leases.length > 0 ? 'rate-limit-lease' : 'service-sync',
        background: background && request.leases.length === 0,
        timeoutMs,
      }).catch((error: unknown) => {
        console.error(JSON.stringify({ level: 'warn', event: 'region-object-failed', object: name, error: String(error) }));
        throw error;
      }),
    directSync: (service, report) => callDurableObject(() => env.SERVICE_STATE.getByName(service), (stub) => stub.sync(report), { kind: 'service-sync', background, timeoutMs }),
    directAcquire: (ask) => callDurableObject(() => env.RATE_LIMITS.getByName(ask.bucketKey), (stub) => stub.acquire(ask.policy, ask.want, ask.returned), { kind: 'rate-limit-lease', timeoutMs }),
  };
}

/** The settings a region object needs with each call. */
export function regionCallSettings(settings: StatePlaneSettings): RegionCallSettings {
  return { callTimeoutMs: settings.callTimeoutMs, syncIntervalMs: settings.syncIntervalMs, blockFactor: settings.tier.blockFactor };
}
