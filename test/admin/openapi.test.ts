import { describe, expect, it } from 'vitest';
import bundledConfig from '../../gateway.config.json';
import builtDocument from '../../public/docs/admin-api.openapi.json';
import { send } from '../support/gateway.ts';

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document covering every admin endpoint', async () => {
    const response = await send(bundledConfig as never, '/openapi.json');
    expect(response.status, await response.clone().text()).toBe(200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /gateway/services',
        'POST /gateway/services/register',
        'DELETE /gateway/services/{service}/{instanceId}',
        'GET /gateway/routes',
        'POST /gateway/routes',
        'GET /gateway/routes/{id}',
        'PUT /gateway/routes/{id}',
        'DELETE /gateway/routes/{id}',
        'GET /gateway/config',
        'PUT /gateway/config',
        'GET /gateway/audit',
        'GET /gateway/status',
        'GET /gateway/health',
        'POST /gateway/api-keys',
        'GET /gateway/api-keys',
        'DELETE /gateway/api-keys/{id}',
        'GET /gateway/circuit-breakers',
        'POST /gateway/circuit-breakers/{service}/reset',
        'GET /gateway/load-balancing',
        'GET /gateway/state-plane',
        'GET /gateway/traces',
        'GET /gateway/traces/{id}',
        // Health plane
        'GET /health',
        'GET /health/live',
        'GET /health/ready',
        'GET /health/services',
        'GET /health/history',
        'POST /health/check',
        'GET /services',
        'GET /alerts/alerts',
        'GET /alerts/alerts/{id}',
        'POST /alerts/alerts/{id}/acknowledge',
        'POST /alerts/alerts/{id}/resolve',
        'GET /alerts/alert-rules',
        'POST /alerts/alert-rules',
        'PUT /alerts/alert-rules/{name}',
        'DELETE /alerts/alert-rules/{name}',
        'GET /alerts/notification-channels',
        'POST /alerts/notification-channels',
        'DELETE /alerts/notification-channels/{name}',
        'GET /alerts/statistics',
        'POST /alerts/test-alert',
      ].sort(),
    );
  });

  it('is the document built at build time, with the origin the request reached as its server', async () => {
    const response = await send(bundledConfig as never, '/openapi.json');
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const served = (await response.json()) as Record<string, unknown>;
    expect(served.servers).toEqual([{ url: 'http://gateway.test', description: 'This gateway' }]);
    const { servers: _servers, ...rest } = served;
    expect(rest).toEqual(builtDocument);
    // The key order the generator gave when it ran per request: openapi, info, servers, then the rest.
    expect(Object.keys(served).slice(0, 3)).toEqual(['openapi', 'info', 'servers']);
  });
});
