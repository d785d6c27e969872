/** The OpenAPI document built at build time (src/build/openapi-document.ts) and the copy the Worker serves. */
import { describe, expect, it } from 'vitest';
import checkedIn from '../../public/docs/admin-api.openapi.json?raw';
// The generator module loads @hono/zod-openapi before the route definitions, so their `.openapi()` metadata is kept.
import { buildOpenApiDocument, openApiDocumentText } from '../../src/build/openapi-document.ts';

describe('public/docs/admin-api.openapi.json', () => {
  it('is the document the route definitions build, up to date (run `npm run openapi` after changing a route)', () => {
    expect(checkedIn).toBe(openApiDocumentText());
  });

  it('carries what only the schemas\' OpenAPI metadata gives: named components, examples and path parameters', () => {
    const document = buildOpenApiDocument() as {
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    expect(Object.keys(document.components.schemas)).toContain('Problem');
    expect(document.components.securitySchemes).toHaveProperty('adminBearer');
    expect(checkedIn).toContain('"example": "urn:edge-gateway:problem:invalid-request"');
    const deregister = document.paths['/gateway/services/{service}/{instanceId}']!.delete!;
    expect(deregister.parameters?.map((parameter) => `${parameter.in}:${parameter.name}`)).toEqual(expect.arrayContaining(['path:service', 'path:instanceId']));
  });

  it('has no servers: the Worker names the origin each request reached', () => {
    expect(JSON.parse(checkedIn)).not.toHaveProperty('servers');
  });
});
