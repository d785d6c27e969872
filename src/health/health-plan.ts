/** @module What a service's state object needs to probe the service's instances, derived from its configuration. */
import type { GatewaySettings, ServiceConfig } from '../config/schema.ts';

/** Figures read from every JSON health answer; others are listed per service in `healthCheck.figures`. */
export const STANDARD_FIGURES = ['cpu', 'memory', 'disk'] as const;

/** Everything the object's alarm needs, stored with it so a lost isolate or a restart does not lose it. */
export interface HealthPlan {
  service: string;
  enabled: boolean;
  intervalMs: number;
  timeoutMs: number;
  path: string;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectedBody: string | null;
  figures: string[];
  instances: { id: string; url: string }[];
  history: { maxEntries: number; maxAgeMs: number };
}

/** The plan of `service` under `settings`. */
export function healthPlanOf(service: ServiceConfig, settings: Pick<GatewaySettings, 'healthHistory'>): HealthPlan {
  const check = service.healthCheck;
  return {
    service: service.name,
    enabled: check.enabled,
    intervalMs: check.intervalSeconds * 1000,
    timeoutMs: check.timeoutMs,
    path: check.path,
    healthyThreshold: check.healthyThreshold,
    unhealthyThreshold: check.unhealthyThreshold,
    expectedBody: check.expectedBody ?? null,
    figures: [...new Set([...STANDARD_FIGURES, ...check.figures])],
    instances: service.instances.map((instance) => ({ id: instance.id, url: instance.url })),
    history: { maxEntries: settings.healthHistory.maxEntries, maxAgeMs: settings.healthHistory.maxAgeSeconds * 1000 },
  };
}
