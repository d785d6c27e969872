/** Defects a careless or hostile operator found by attacking the admin API black-box; one block per defect. */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { adminJson } from '../support/admin-api.ts';
import { ADMIN_HEADERS, asAdmin, gatewayFor, problemType } from '../support/gateway.ts';

const [echo1] = inject('echoOrigins');

const config: GatewayConfigInput = {
  gateway: { controlPlane: { pollIntervalMs: 500, allowPrivateOriginAddresses: true, allowedOriginHosts: [] } },
  services: [{ name: 'samples', routes: [{ id: 'samples', pathPrefix: '/samples' }], instances: [{ id: 'samples-1', url: echo1! }] }],
};

const json = adminJson;

describe('an instance URL that is the gateway itself', () => {
  // Registered at the gateway's own address, an instance forwards every request back into the gateway: one
  // anonymous request to a route of that service became ~1,000 nested requests within a 5 s timeout.
  it.each([
    ['http://gateway.test', 'http://gateway.test'],
    ['http://gateway.test', 'https://GATEWAY.test:8443/base'],
    ['http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
    ['http://127.0.0.1:8787', 'http://localhost:8787'],
    ['http://127.0.0.1:8787', 'http://[::1]:8787'],
    ['http://127.0.0.1:8787', 'http://0x7f.1:8787'],
  ])('is refused when the admin request came to %s and the URL is %s', async (base, url) => {
    const send = gatewayFor(config);
    const response = await send('/gateway/services/register', { ...json('POST', { service: 'samples', url }), base });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await problemType(response)).toBe('invalid-request');
    const body = (await response.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors).toEqual([{ path: 'url', message: expect.stringContaining('gateway itself') }]);
  });

  it('is refused in a whole configuration too, naming the field, and nothing is applied', async () => {
    const send = gatewayFor(config);
    const before = await (await send('/gateway/config', asAdmin())).json();
    const desired = structuredClone(before) as { services: { name: string; routes: unknown[]; instances: unknown[] }[] };
    desired.services.push({ name: 'loop', routes: [{ id: 'loop', pathPrefix: '/loop' }], instances: [{ id: 'loop-1', url: 'http://gateway.test' }] });
    const response = await send('/gateway/config', json('PUT', desired));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { path: string; message: string }[] };
    expect(body.errors).toEqual([{ path: 'services[1].instances[0].url', message: expect.stringContaining('gateway itself') }]);
    expect(await (await send('/gateway/config', asAdmin())).json()).toEqual(before);
  });

  it('still accepts another port on a loopback host (local origins differ by port)', async () => {
    const send = gatewayFor(config);
    const response = await send('/gateway/services/register', { ...json('POST', { service: 'samples', url: echo1!, id: 'samples-same-host' }), base: echo1!.replace(/:\d+$/, ':1') });
    expect([200, 201]).toContain(response.status);
  });
});

describe('a huge admin body', () => {
  // 200,000 metadata entries (42 MB) passed the body limit of the edge (100 MiB), were parsed and validated, and the
  // registry object's RPC refused them (over 32 MiB): 500 internal-error.
  const metadata = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, 'v'.repeat(200)]));
  const huge = JSON.stringify({ service: 'samples', url: `${echo1}/huge`, metadata });

  it('gets 413 payload-too-large with its length declared, and nothing is registered', async () => {
    const send = gatewayFor(config);
    const response = await send('/gateway/services/register', json('POST', huge));
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await problemType(response)).toBe('payload-too-large');
    const services = (await (await send('/gateway/services', asAdmin())).json()) as { services: { instances: { url: string }[] }[] };
    expect(services.services.flatMap((s) => s.instances).some((i) => i.url.endsWith('/huge'))).toBe(false);
  });

  it('gets 413 when it streams without a length too', async () => {
    const send = gatewayFor(config);
    const bytes = new TextEncoder().encode(huge);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 1 << 20) controller.enqueue(bytes.subarray(offset, offset + (1 << 20)));
        controller.close();
      },
    });
    const response = await send('/gateway/config', { method: 'PUT', headers: { 'content-type': 'application/json', ...ADMIN_HEADERS }, body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
    expect(await problemType(response)).toBe('payload-too-large');
  });

  it('still takes an ordinary body', async () => {
    const send = gatewayFor(config);
    const response = await send('/gateway/services/register', json('POST', { service: 'samples', url: `${echo1}/ordinary`, metadata: { zone: 'a' } }));
    expect(response.status).toBe(201);
  });
});

describe('two operators creating the same alert rule at once', () => {
  // POST /alerts/alert-rules read the stored rules, then wrote: concurrent creations of one name were all 201, and
  // each silently replaced the one before (45 POSTs over 15 names against npm start: 31 × 201).
  it('creates it once: one 201, the others 409, and the first rule is kept', async () => {
    const send = gatewayFor(config);
    const responses = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => send('/alerts/alert-rules', json('POST', { name: 'raced', metric: 'error_rate', threshold: i / 10 }))),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const winner = (await responses.find((r) => r.status === 201)!.json()) as { threshold: number };
    for (const response of responses.filter((r) => r.status === 409)) expect(await problemType(response)).toBe('resource-exists');
    const rules = ((await (await send('/alerts/alert-rules', asAdmin())).json()) as { rules: { name: string; threshold: number }[] }).rules;
    expect(rules.filter((rule) => rule.name === 'raced')).toEqual([expect.objectContaining({ threshold: winner.threshold })]);
  });
});

describe('a JSON body that names a member twice', () => {
  // JSON.parse keeps the last: {"service":"samples","service":"storage"} registered into the service a reviewer of
  // the first name would not expect (201 in storage).
  it.each([
    ['/gateway/services/register', 'POST', '{"service":"samples","service":"storage","url":"http://127.0.0.1:9/dup"}', 'service'],
    ['/gateway/routes', 'POST', '{"service":"samples","pathPrefix":"/dup","pathPrefix":"/other"}', 'pathPrefix'],
    ['/gateway/config?dry_run=1', 'PUT', '{"services":[{"name":"a","routes":[],"instances":[{"id":"x","url":"http://a","url":"http://b"}]}]}', 'services[0].instances[0].url'],
    ['/alerts/alert-rules', 'POST', '{"name":"dup","metric":"error_rate","threshold":0.1,"\\u0074hreshold":0.9}', 'threshold'],
  ])('%s %s is refused with 400 naming the field, and nothing is written', async (path, method, body, field) => {
    const send = gatewayFor(config);
    const before = await (await send('/gateway/config', asAdmin())).json();
    const response = await send(path, json(method, body));
    expect(response.status).toBe(400);
    expect(await problemType(response)).toBe('invalid-request');
    expect(((await response.json()) as { errors: { path: string }[] }).errors).toEqual([{ path: field, message: expect.stringContaining('more than once') }]);
    expect(await (await send('/gateway/config', asAdmin())).json()).toEqual(before);
  });

  it('leaves other malformed JSON to the usual answer', async () => {
    const send = gatewayFor(config);
    const response = await send('/gateway/services/register', json('POST', '{"service":'));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { message: string }[] }).errors[0]!.message).toBe('Malformed JSON in request body');
  });
});

describe('a gateway endpoint asked with a method it does not answer', () => {
  // It fell through to service routing: POST /metrics got 404 "No route is configured for the path /metrics".
  it.each([
    ['POST', '/metrics', 'GET, HEAD'],
    ['DELETE', '/metrics/json', 'GET, HEAD'],
    ['PUT', '/health/metrics', 'GET, HEAD'],
    ['DELETE', '/health/services', 'GET, HEAD'],
    ['POST', '/gateway/traces', 'GET, HEAD'],
    ['GET', '/health/check', 'POST'],
    ['POST', `/alerts/alerts/${crypto.randomUUID()}`, 'GET, HEAD'],
    ['POST', '/alerts/alert-rules/some-rule', 'PUT, DELETE'],
  ])('answers %s %s with 405 and Allow: %s', async (method, path, allow) => {
    const send = gatewayFor(config);
    const response = await send(path, asAdmin({ method }));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await problemType(response)).toBe('method-not-allowed');
  });

  it('still asks for credentials first, answers public endpoints 405 to anyone, and an unknown path 404', async () => {
    const send = gatewayFor(config);
    expect((await send('/gateway/status', { method: 'POST' })).status).toBe(401);
    expect((await send('/metrics', { method: 'POST' })).status).toBe(401);
    expect((await send('/health/live', { method: 'POST' })).status).toBe(405);
    const unknown = await send('/gateway/no-such-endpoint', asAdmin({ method: 'POST' }));
    expect(unknown.status).toBe(404);
    expect(await problemType(unknown)).toBe('route-not-found');
    expect((await send('/metrics', asAdmin())).status).toBe(200);
  });
});
