// Regression: the admin API's numeric query parameters were `z.coerce.number()`, which reads text with `Number()`:
// `limit=0x10` was 16, `1e2` 100, `' 5 '` 5 and an empty `limit=` 0. Only decimal digits are numbers now.
import { describe, expect, inject, it } from 'vitest';
import builtDocument from '../../public/docs/admin-api.openapi.json';
import { problemOf, registryConfig } from '../support/admin-api.ts';
import { asAdmin, send } from '../support/gateway.ts';

const [echo1, echo2] = inject('echoOrigins');
const config = registryConfig(echo1!, echo2!);

/** Each numeric query parameter of the admin API, on its endpoint. */
const parameters = [
  ['/gateway/audit', 'limit'],
  ['/gateway/audit', 'before'],
  ['/alerts/alerts', 'limit'],
  ['/health/history', 'limit'],
  ['/health/history', 'since'],
  ['/gateway/traces', 'limit'],
  ['/gateway/traces', 'status'],
  ['/gateway/traces', 'minDurationMs'],
] as const;

const notDecimal = ['0x10', '1e2', ' 5 ', '', '+5', '5.', 'Infinity', '0b11'];

describe('numeric query parameters of the admin API', () => {
  it.each(parameters)('%s refuses %s that is not written in decimal digits, with 400 naming it', async (path, name) => {
    for (const value of notDecimal) {
      const response = await send(config, `${path}?${name}=${encodeURIComponent(value)}`, asAdmin());
      expect(response.status, `${name}=${JSON.stringify(value)}`).toBe(400);
      const problem = await problemOf(response);
      expect(problem.type).toBe('urn:edge-gateway:problem:invalid-request');
      expect(problem.errors).toEqual([{ path: name, message: expect.stringContaining('decimal digits') }]);
    }
  });

  it('refuses a fraction where an integer is expected, and a repeated parameter', async () => {
    for (const query of ['limit=2.5', 'limit=1&limit=2']) {
      const problem = await problemOf(await send(config, `/gateway/audit?${query}`, asAdmin()));
      expect(problem.errors?.map((error) => error.path), query).toEqual(['limit']);
    }
  });

  it('accepts decimal values within the bounds, and a decimal minDurationMs', async () => {
    expect((await send(config, '/gateway/audit?limit=16&before=9007199254740991', asAdmin())).status).toBe(200);
    expect((await send(config, '/health/history?limit=007&since=0', asAdmin())).status).toBe(200);
    expect((await send(config, '/gateway/traces?limit=500&status=503&minDurationMs=12.5', asAdmin())).status).toBe(200);
  });

  it('still refuses values out of bounds, including integers past 2^53', async () => {
    for (const query of ['limit=0', 'limit=501', 'before=9007199254740993']) {
      expect((await send(config, `/gateway/audit?${query}`, asAdmin())).status, query).toBe(400);
    }
  });

  it('are documented as integer or number with their bounds', () => {
    const parametersOf = (path: string) =>
      Object.fromEntries(
        ((builtDocument.paths as unknown as Record<string, { get: { parameters: { name: string; schema: unknown }[] } }>)[path]!.get.parameters).map((parameter) => [parameter.name, parameter.schema]),
      );
    expect(parametersOf('/gateway/audit').limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 500, default: 50 });
    expect(parametersOf('/gateway/traces').status).toMatchObject({ type: 'integer', minimum: 100, maximum: 599 });
    expect(parametersOf('/gateway/traces').minDurationMs).toMatchObject({ type: 'number', minimum: 0 });
    expect(parametersOf('/health/history').since).toMatchObject({ type: 'integer', minimum: 0 });
    expect(parametersOf('/alerts/alerts').limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
  });
});
