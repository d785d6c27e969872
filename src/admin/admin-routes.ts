/**
 * @module Every endpoint of the admin API, and the parts of its OpenAPI document that are not route definitions.
 * Shared by the Worker (src/admin/admin-api.ts, which validates with the routes' schemas) and the build
 * (src/build/openapi-document.ts, which turns the same definitions into the document the Worker serves).
 */
import { version as packageVersion } from '../../package.json';
import { registerAlertRoutes } from './alert-routes.ts';
import { registerApiKeyRoutes } from './api-keys.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { registerConfigRoutes } from './config-routes.ts';
import { registerHealthRoutes } from './health-routes.ts';
import type { AdminRouter } from './openapi-router.ts';
import { registerRegistryRoutes } from './registry-routes.ts';
import { registerStatePlaneRoutes } from './state-plane-routes.ts';
import { registerStatusRoutes } from './status-routes.ts';
import { registerTraceRoutes } from './trace-routes.ts';

/** Registers the admin endpoints on `api`, in the order they appear in the document. */
export function registerAdminRoutes(api: AdminRouter): void {
  registerRegistryRoutes(api);
  registerConfigRoutes(api);
  registerAuditRoutes(api);
  registerStatusRoutes(api);
  registerApiKeyRoutes(api);
  registerStatePlaneRoutes(api);
  registerTraceRoutes(api);
  registerHealthRoutes(api);
  registerAlertRoutes(api);
}

/** The security schemes the routes' `security` entries name. */
export const ADMIN_SECURITY_SCHEMES = {
  adminBearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'The ADMIN_TOKEN secret, or a JWT carrying the admin role.',
  },
} as const;

/** The document's head. `servers` is left out: it names the origin a request reached, so it is added per request. */
export const ADMIN_DOCUMENT_HEAD = {
  openapi: '3.1.0',
  info: {
    title: 'edge-gateway admin API',
    version: packageVersion,
    description: 'Manage the gateway while it runs: the service registry, routes, configuration, circuit breakers and status. Errors are RFC 9457 problem details.',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  tags: [
    { name: 'Registry', description: 'Services, instances and routes' },
    { name: 'Configuration', description: 'Configuration as code, and the audit log' },
    { name: 'API keys', description: 'Keys for machine clients' },
    { name: 'State plane', description: 'Circuit breakers, load balancing, Durable Object usage' },
    { name: 'Status', description: 'How this gateway is doing' },
    { name: 'Alerts', description: 'Alerts, alert rules, notification channels and statistics' },
    { name: 'Health', description: 'Active health checks of the instances, and the gateway\'s own health' },
  ],
};
