import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoOrigin, type Echo, type EchoOrigin } from '../../scripts/demo-origins.ts';
import { rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let samples: EchoOrigin;
let auth: EchoOrigin;
let files: EchoOrigin;
let evil: TestOrigin;

beforeAll(async () => {
  [samples, auth, files] = await Promise.all([
    startEchoOrigin({ service: 'samples', instance: 'samples-1' }),
    startEchoOrigin({ service: 'auth', instance: 'auth-1' }),
    startEchoOrigin({ service: 'files', instance: 'files-1' }),
  ]);
  // Stands for any host an attacker would like the gateway to reach. It must never see a request.
  evil = await startOrigin(answer('evil'));
  gateway = await startGateway({
    services: [
      { name: 'samples', routes: [{ pathPrefix: '/samples', rewritePrefix: '/api/v1/samples' }], instances: [{ url: samples.url }] },
      { name: 'auth', routes: [{ pathPrefix: '/auth', rewritePrefix: '/api/v1/auth' }], instances: [{ url: auth.url }] },
      { name: 'files', routes: [{ pathPrefix: '/samples/files', stripPrefix: true }], instances: [{ url: files.url }] },
    ],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([samples, auth, files, evil].map((origin) => origin?.close()));
});

async function echoOf(path: string): Promise<Echo> {
  const response = await rawRequest(gateway.url, path);
  expect(response.status, `${path}: ${response.body}`).toBe(200);
  return response.json<Echo>();
}

describe('routing', () => {
  it('serves /samples/42 from the samples origin at its rewritten path', async () => {
    expect(await echoOf('/samples/42?q=1')).toMatchObject({ service: 'samples', path: '/api/v1/samples/42', query: { q: '1' } });
  });

  it('matches a prefix on segment boundaries only', async () => {
    expect((await echoOf('/samples')).path).toBe('/api/v1/samples');
    expect((await echoOf('/samples/')).path).toBe('/api/v1/samples/');
    const response = await rawRequest(gateway.url, '/samplesX');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  });

  it('lets the longest prefix win and strips it when configured', async () => {
    expect(await echoOf('/samples/files/a/b.txt')).toMatchObject({ service: 'files', path: '/a/b.txt' });
  });

  it.each([
    ['/samples//42', 'samples', '/api/v1/samples/42'],
    ['/samples/./42', 'samples', '/api/v1/samples/42'],
    ['/samples/x/../42', 'samples', '/api/v1/samples/42'],
    ['/samples/%2e%2e/auth/login', 'auth', '/api/v1/auth/login'],
    ['/%73amples/4%32', 'samples', '/api/v1/samples/42'],
    ['/samples/files/../42', 'samples', '/api/v1/samples/42'],
  ])('routes %s on its normalised path, to %s as %s', async (path, service, upstreamPath) => {
    expect(await echoOf(path)).toMatchObject({ service, path: upstreamPath });
  });

  it.each([
    ['/samples%2F..%2Fauth/login', 404],
    ['/samples/..%2F..%2Fauth/login', 200],
    ['/samples/..%5C..%5Cauth/login', 200],
  ])('never lets an encoded separator change the route: %s', async (path, status) => {
    const response = await rawRequest(gateway.url, path);
    expect(response.status).toBe(status);
    if (status === 200) {
      expect(response.json<Echo>().service).toBe('samples');
      expect(response.json<Echo>().path).toMatch(/^\/api\/v1\/samples\/\.\.%(2F|5C)\.\.%(2F|5C)auth\/login$/);
    }
  });

  it('refuses malformed percent-encoding with a 400 problem', async () => {
    const response = await rawRequest(gateway.url, '/samples/%zz');
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:invalid-path' });
  });

  it.each([
    () => `//127.0.0.1:${evil.port}/x`,
    () => `/\\127.0.0.1:${evil.port}/x`,
    () => `/samples/..//127.0.0.1:${evil.port}/x`,
    () => `/samples//127.0.0.1:${evil.port}/x`,
    () => `/samples/%2F%2F127.0.0.1:${evil.port}/x`,
    () => `/samples/@127.0.0.1:${evil.port}/x`,
  ])('cannot be pointed at another host by the path %#', async (pathOf) => {
    const response = await rawRequest(gateway.url, pathOf());
    if (response.status === 200) expect(response.json<Echo>().service).toBe('samples');
    else expect(response.status).toBe(404);
    expect(evil.requests).toHaveLength(0);
  });
});
