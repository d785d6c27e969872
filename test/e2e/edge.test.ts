/** Edge hygiene over real HTTP: what reaches the Worker from a raw socket, body and header limits, hosts, CORS. */
import { EventEmitter, once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let origin: TestOrigin;
/** Emits 'upload' with `{ bytes, ended }` when a request body at the origin completes (ended) or is cut off. */
const uploads = new EventEmitter();

beforeAll(async () => {
  origin = await startOrigin((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      uploads.emit('upload', { bytes, ended: true });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (req.url === '/framed') headers['x-frame-options'] = 'SAMEORIGIN';
      res.writeHead(200, headers).end(JSON.stringify({ bytes, path: req.url }));
    });
    req.on('aborted', () => uploads.emit('upload', { bytes, ended: false }));
  });
  gateway = await startGateway({
    gateway: { allowedHosts: ['127.0.0.1', 'api.example.com'], limits: { maxBodyBytes: 64 * 1024, maxHeaderBytes: 8 * 1024 } },
    services: [
      {
        name: 'app',
        routes: [{ pathPrefix: '/app', stripPrefix: true }],
        instances: [{ url: origin.url }],
        policies: { cors: { allowedOrigins: ['https://app.example.com'], allowCredentials: true } },
      },
    ],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await origin?.close();
});

/** Sends bytes as they are, for what no HTTP client will write. Resolves with the status line. */
function rawSocket(text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(gateway.port, '127.0.0.1', () => socket.end(text));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
    socket.on('error', () => resolve(received.split('\r\n')[0] ?? 'error'));
  });
}

/** A chunked upload (no Content-Length) of `total` bytes in 16 KiB chunks. */
function chunkedUpload(total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: gateway.port, path: '/app/upload', method: 'POST' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(16 * 1024, 120);
    void (async () => {
      for (let sent = 0; sent < total; sent += chunk.length) {
        if (!req.write(chunk)) await new Promise((drained) => req.once('drain', drained));
      }
      req.end();
    })().catch(() => {});
  });
}

describe('body limit', () => {
  it('answers 413 at once for a Content-Length over the limit, and the origin sees nothing', async () => {
    const before = origin.requests.length;
    const response = await rawRequest(gateway.url, '/app/upload', { method: 'POST', body: Buffer.alloc(65 * 1024) });
    expect(response.status).toBe(413);
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:payload-too-large' });
    expect(origin.requests.length).toBe(before);
  });

  it('passes a chunked upload within the limit', async () => {
    const response = await chunkedUpload(48 * 1024);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ bytes: 48 * 1024 });
  });

  it('answers 413 to a chunked upload once it passes the limit, and the origin sees a cut-off request, never a complete one', async () => {
    const atOrigin = once(uploads, 'upload') as Promise<[{ bytes: number; ended: boolean }]>;
    const response = await chunkedUpload(256 * 1024);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ type: 'urn:edge-gateway:problem:payload-too-large' });
    // The origin saw the request cut off short of the limit, never a truncated body that looked complete.
    const [upload] = await atOrigin;
    expect(upload.ended).toBe(false);
    expect(upload.bytes).toBeLessThanOrEqual(64 * 1024);
  });
});

describe('headers', () => {
  it('answers 431 when the request headers are larger than the limit', async () => {
    const response = await rawRequest(gateway.url, '/app/x', { headers: { 'x-big': 'a'.repeat(9 * 1024) } });
    expect(response.status).toBe(431);
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:headers-too-large' });
  });

  it('answers 400 invalid-header to a control character that the runtime lets through', async () => {
    const status = await rawSocket('GET /app/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test: a\x01b\r\nConnection: close\r\n\r\n');
    expect(status).toBe('HTTP/1.1 400 Bad Request');
  });

  it.each([
    ['a NUL in a value', 'X-Test: a\0b'],
    ['a bare CR in a value', 'X-Test: a\rb'],
    ['an obs-fold continuation line', 'X-Test: a\r\n b'],
  ])('is protected by the runtime from %s (400 before the Worker runs)', async (_label, line) => {
    const status = await rawSocket(`GET /app/x HTTP/1.1\r\nHost: 127.0.0.1\r\n${line}\r\nConnection: close\r\n\r\n`);
    expect(status).toBe('HTTP/1.1 400 Bad Request');
  });

  it('answers 400 to an encoded CR LF in the path', async () => {
    const response = await rawRequest(gateway.url, '/app/a%0d%0aSet-Cookie:%20x=1');
    expect(response.status).toBe(400);
    expect(response.headers['set-cookie']).toBeUndefined();
  });
});

describe('allowed hosts', () => {
  it('answers 421 to a Host the gateway does not serve', async () => {
    const response = await rawRequest(gateway.url, '/app/x', { headers: { host: 'evil.example' } });
    expect(response.status).toBe(421);
    expect(response.json()).toMatchObject({ type: 'urn:edge-gateway:problem:host-not-allowed' });
  });

  it('serves a listed host', async () => {
    expect((await rawRequest(gateway.url, '/app/x', { headers: { host: 'api.example.com' } })).status).toBe(200);
  });
});

describe('CORS and security headers', () => {
  it('answers a preflight at the edge without the origin seeing it', async () => {
    const before = origin.requests.length;
    const response = await rawRequest(gateway.url, '/app/items', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(response.headers['access-control-allow-credentials']).toBe('true');
    expect(origin.requests.length).toBe(before);
  });

  it('adds the security headers, keeping an origin\'s own frame policy', async () => {
    const plain = await rawRequest(gateway.url, '/app/x');
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['x-frame-options']).toBe('DENY');
    expect(plain.headers['referrer-policy']).toBe('no-referrer');
    expect(plain.headers['strict-transport-security']).toBeUndefined(); // plain http
    const framed = await rawRequest(gateway.url, '/app/framed');
    expect(framed.headers['x-frame-options']).toBe('SAMEORIGIN');
  });
});
