/**
 * Issue #8 (1) end to end under `wrangler dev`, as reported: GET with a body used to be sent to the origin, refused
 * by the runtime's fetch, and counted as a connect failure, until the breaker opened and ejected the instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN_HEADERS, rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let origin: TestOrigin;

beforeAll(async () => {
  origin = await startOrigin(answer('samples-1'));
  gateway = await startGateway({
    services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: origin.url }], policies: { circuitBreaker: {} } }],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await origin?.close();
});

describe('blame only the origin', () => {
  it('answers 25 GETs with a body 400 body-not-allowed and leaves the breaker closed and the instance in rotation', async () => {
    for (let i = 0; i < 25; i++) {
      const response = await rawRequest(gateway.url, '/samples/1', { headers: { 'content-length': '5', 'content-type': 'application/x-www-form-urlencoded' }, body: 'hello' });
      expect(response.status).toBe(400);
      expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:body-not-allowed' });
    }
    expect(origin.requests.length).toBe(0);
    expect((await rawRequest(gateway.url, '/samples/1')).status).toBe(200);
    const breakers = (await rawRequest(gateway.url, '/gateway/circuit-breakers', { headers: E2E_ADMIN_HEADERS })).json<{ services: { service: string; breaker: { state: string; failures: number } }[] }>();
    expect(breakers.services.find((s) => s.service === 'samples')?.breaker).toMatchObject({ state: 'closed', failures: 0 });
    const balancing = (await rawRequest(gateway.url, '/gateway/load-balancing', { headers: E2E_ADMIN_HEADERS })).json<{ services: { service: string; instances: { ejected: boolean; consecutiveFailures: number }[] }[] }>();
    expect(balancing.services.find((s) => s.service === 'samples')?.instances[0]).toMatchObject({ ejected: false, consecutiveFailures: 0 });
  });
});
