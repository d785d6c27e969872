/**
 * @module The gateway's own endpoints, declared with their schemas so that the same schemas validate requests and
 * generate the OpenAPI 3.1 document at /openapi.json (rendered at /docs).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import packageJson from '../../package.json';
import { formatFieldPath } from '../config/load.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { registerAlertRoutes } from './alert-routes.ts';
import { registerApiKeyRoutes } from './api-keys.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { registerRegistryRoutes } from './registry-routes.ts';
import { registerStatePlaneRoutes } from './state-plane-routes.ts';
import { registerTraceRoutes } from './trace-routes.ts';

export function adminApi(): OpenAPIHono<AppEnv> {
  const api = new OpenAPIHono<AppEnv>({
    // One problem for every schema failure, listing each bad field.
    defaultHook: (result) => {
      if (result.success) return;
      const errors = result.error.issues.map((issue) => ({ path: formatFieldPath(issue.path), message: issue.message }));
      throw new GatewayError('invalid-request', { count: errors.length }, { extensions: { errors } });
    },
  });
  api.openAPIRegistry.registerComponent('securitySchemes', 'adminBearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'The ADMIN_TOKEN secret, or a JWT carrying the admin role.',
  });
  registerRegistryRoutes(api);
  registerApiKeyRoutes(api);
  registerStatePlaneRoutes(api);
  registerTraceRoutes(api);
  registerHealthRoutes(api);
  registerAlertRoutes(api);
  api.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: {
      title: 'edge-gateway admin API',
      version: packageJson.version,
      description: 'Manage the gateway while it runs: the service registry, routes, configuration, circuit breakers and status. Errors are RFC 9457 problem details.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: new URL(c.req.url).origin, description: 'This gateway' }],
    tags: [
      { name: 'Registry', description: 'Services, instances and routes' },
      { name: 'Configuration', description: 'Configuration as code, and the audit log' },
      { name: 'API keys', description: 'Keys for machine clients' },
      { name: 'State plane', description: 'Circuit breakers, load balancing, Durable Object usage' },
      { name: 'Status', description: 'How this gateway is doing' },
      { name: 'Alerts', description: 'Alerts, alert rules, notification channels and statistics' },
      { name: 'Health', description: 'Active health checks of the instances, and the gateway\'s own health' },
    ],
  }));
  return api;
}
