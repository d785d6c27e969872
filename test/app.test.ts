import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../src/config/schema.ts';
import { send as sendThrough } from './support/gateway.ts';

const [echo1, echo2] = inject('echoOrigins');
const closed = inject('closedOrigin');

const config: GatewayConfigInput = {
  services: [
    {
      name: 'samples',
      routes: [{ pathPrefix: '/samples', rewritePrefix: '/api/v1/samples' }],
      instances: [{ url: echo1! }],
    },
    {
      name: 'reports',
      routes: [{ pathPrefix: '/reports', methods: ['GET'] }],
      instances: [{ url: echo1! }],
    },
    {
      name: 'flaky',
      routes: [{ pathPrefix: '/flaky' }],
      instances: [
        { id: 'dead', url: closed },
        { id: 'alive', url: echo2! },
      ],
    },
    { name: 'down', routes: [{ pathPrefix: '/down' }], instances: [{ url: closed }] },
  ],
};

function send(path: string, init: RequestInit = {}, gatewayConfig: unknown = config): Promise<Response> {
  return sendThrough(gatewayConfig as GatewayConfigInput, path, init);
}

describe('gateway in workerd, against real origins', () => {
  it('forwards to the service with the rewritten path and the query unchanged', async () => {
    const response = await send('/samples/42?x=1&x=2');
    expect(response.status).toBe(200);
    const echo = (await response.json()) as Echo;
    expect(echo).toMatchObject({ service: 'echo', path: '/api/v1/samples/42', query: { x: ['1', '2'] } });
  });

  it('returns the request id and traceparent it sent upstream', async () => {
    const response = await send('/samples/1', { headers: { 'x-request-id': 'trace-me' } });
    const echo = (await response.json()) as Echo;
    expect(response.headers.get('x-request-id')).toBe('trace-me');
    expect(echo.headers['x-request-id']).toBe('trace-me');
    expect(echo.headers.traceparent).toBe(response.headers.get('traceparent'));
  });

  it('answers an unknown path with a route-not-found problem', async () => {
    const response = await send('/samplesX/1');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(await response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:route-not-found', status: 404 });
  });

  it('repeats at most 256 characters of an unknown path in the problem', async () => {
    const path = `/nowhere/${'a'.repeat(20_000)}`;
    const body = (await (await send(path)).json()) as { detail: string };
    expect(body.detail).toContain(`${path.slice(0, 256)}…`);
    expect(body.detail.length).toBeLessThan(400);
  });

  it('answers a method the route does not accept with 405 and Allow', async () => {
    const response = await send('/reports/1', { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
  });

  it('refuses a path with malformed percent-encoding with 400', async () => {
    const response = await send('/samples/%zz');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:invalid-path' });
  });

  it('retries an idempotent request on the other instance when the first refuses connections', async () => {
    const instances = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const response = await send('/flaky/x');
      expect(response.status).toBe(200);
      instances.add(((await response.json()) as Echo).instance);
    }
    expect(instances).toEqual(new Set(['echo-2']));
  });

  it('answers 502 upstream-unreachable when no instance accepts the connection', async () => {
    const response = await send('/down/x', { headers: { 'accept-language': 'es' } });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({
      type: 'urn:edge-gateway:problem:upstream-unreachable',
      detail: 'No se pudo conectar con ninguna instancia del servicio «down».',
    });
  });

  it('answers 500 configuration-error, without details, when GATEWAY_CONFIG is invalid', async () => {
    const response = await send('/samples/1', {}, { services: [{ name: 'x', routes: [], instances: [] }] });
    expect(response.status).toBe(500);
    const body = (await response.json()) as { type: string; detail: string };
    expect(body.type).toBe('urn:edge-gateway:problem:configuration-error');
    expect(body.detail).not.toContain('services');
  });
});
