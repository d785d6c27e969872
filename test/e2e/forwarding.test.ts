import { request as httpRequest } from 'node:http';
import { gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startEchoOrigin, type Echo, type EchoOrigin } from '../../scripts/demo-origins.ts';
import { rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { startOrigin, type TestOrigin } from './origins.ts';

const MiB = 1024 * 1024;
const BODY_BYTES = 50 * MiB;

let gateway: RunningGateway;
let echo: EchoOrigin;
let streaming: TestOrigin;
let sockets: TestOrigin;

// Resolved by the origin when the first request byte arrives, and by the client when the first response byte does.
let originSawFirstByte: () => void = () => {};
let clientSawFirstByte: () => void = () => {};
const waitFor = (set: (resolve: () => void) => void) => new Promise<void>((resolve) => set(resolve));

beforeAll(async () => {
  echo = await startEchoOrigin({ service: 'echo', instance: 'echo-1' });
  streaming = await startOrigin((req, res) => {
    if (req.method === 'POST') {
      let bytes = 0;
      req.once('data', () => originSawFirstByte());
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => res.end(JSON.stringify({ bytes })));
      return;
    }
    if (req.url === '/gzip') {
      const compressed = gzipSync(JSON.stringify({ compressed: true, filler: 'x'.repeat(10_000) }));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': compressed.length });
      res.end(compressed);
      return;
    }
    if (req.url === '/connection-headers') {
      res.writeHead(200, { connection: 'keep-alive, x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=5', 'x-public': 'ok' });
      res.end('ok');
      return;
    }
    // GET /big: 1 MiB, then the rest only once the client has the first bytes.
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY_BYTES });
    res.write(Buffer.alloc(MiB, 1));
    void waitFor((resolve) => (clientSawFirstByte = resolve)).then(async () => {
      const chunk = Buffer.alloc(MiB, 2);
      for (let sent = MiB; sent < BODY_BYTES; sent += MiB) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    });
  });
  sockets = await startOrigin((_req, res) => res.end('not a websocket'));
  const wss = new WebSocketServer({ server: sockets.server });
  wss.on('connection', (socket, req) => {
    socket.send(JSON.stringify({ hello: true, xForwardedFor: req.headers['x-forwarded-for'], path: req.url }));
    socket.on('message', (data) => socket.send(`echo:${String(data)}`));
  });

  gateway = await startGateway({
    services: [
      { name: 'echo', routes: [{ pathPrefix: '/echo' }], instances: [{ url: echo.url }] },
      { name: 'stream', routes: [{ pathPrefix: '/stream', stripPrefix: true }], instances: [{ url: streaming.url }] },
      { name: 'ws', routes: [{ pathPrefix: '/ws' }], instances: [{ url: sockets.url }] },
    ],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([echo, streaming, sockets].map((origin) => origin?.close()));
});

describe('forwarded headers, as the origin sees them', () => {
  it('sets X-Forwarded-* and Forwarded from the connection, not from the client', async () => {
    const response = await rawRequest(gateway.url, '/echo/who', {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=6.6.6.6;host=evil.example',
        'x-real-ip': '6.6.6.6',
        'true-client-ip': '6.6.6.6',
      },
    });
    const { headers } = response.json<Echo>();
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-host']).toBe(`127.0.0.1:${gateway.port}`);
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers.forwarded).toBe(`for=127.0.0.1;host="127.0.0.1:${gateway.port}";proto=http`);
    expect(headers['x-real-ip']).toBeUndefined();
    expect(headers['true-client-ip']).toBeUndefined();
    expect(JSON.stringify(headers)).not.toContain('6.6.6.6');
  });

  // workerd consumes the client's `Connection` header itself, so the headers it names reach the Worker as plain
  // headers; the removal of Connection-named headers is covered where the Worker can see them (headers.test.ts).
  it('drops hop-by-hop headers', async () => {
    const response = await rawRequest(gateway.url, '/echo/hop', {
      headers: { 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic eA==', 'proxy-connection': 'keep-alive', 'x-public': 'ok' },
    });
    const { headers } = response.json<Echo>();
    expect(headers['proxy-connection']).toBeUndefined();
    expect(headers['keep-alive']).toBeUndefined();
    expect(headers.te).toBeUndefined();
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers['x-public']).toBe('ok');
  });

  it('never forwards the admin plane\'s Cloudflare Access credential: neither the assertion header nor the CF_Authorization cookie', async () => {
    const response = await rawRequest(gateway.url, '/echo/access', {
      headers: { 'cf-access-jwt-assertion': 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', cookie: 'theme=dark; CF_Authorization=eyJhbGciOiJSUzI1NiJ9.e30.c2ln; lang=en' },
    });
    const { headers } = response.json<Echo>();
    expect(headers['cf-access-jwt-assertion']).toBeUndefined();
    expect(headers.cookie).toBe('theme=dark; lang=en');
  });

  it('drops hop-by-hop headers from the response too', async () => {
    const response = await rawRequest(gateway.url, '/stream/connection-headers');
    expect(response.headers['x-internal']).toBeUndefined();
    expect(response.headers['x-public']).toBe('ok');
  });

  it('keeps a valid X-Request-Id and traceparent, sends them upstream and returns them', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await rawRequest(gateway.url, '/echo/ids', { headers: { 'x-request-id': 'req-42', traceparent } });
    const { headers } = response.json<Echo>();
    expect(headers['x-request-id']).toBe('req-42');
    expect(response.headers['x-request-id']).toBe('req-42');
    expect(headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(response.headers.traceparent).toBe(headers.traceparent);
  });

  it('generates a request id and a trace when the client sent none', async () => {
    const response = await rawRequest(gateway.url, '/echo/ids');
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});

describe('streaming', () => {
  it('streams a 50 MB request body: the origin has the first bytes before the client sends the rest', async () => {
    const firstByte = waitFor((resolve) => (originSawFirstByte = resolve));
    const result = await new Promise<{ bytes: number }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: gateway.port, path: '/stream/upload', method: 'POST', headers: { 'content-length': BODY_BYTES } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(MiB, 1));
      // Only once the origin has seen the first chunk does the client send the other 49 MiB.
      void firstByte.then(async () => {
        const chunk = Buffer.alloc(MiB, 2);
        for (let sent = MiB; sent < BODY_BYTES; sent += MiB) {
          if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
        }
        req.end();
      });
    });
    expect(result.bytes).toBe(BODY_BYTES);
  });

  it('streams a 50 MB response body: the client has the first bytes before the origin sends the rest', async () => {
    const received = await new Promise<{ bytes: number; contentLength: string | undefined }>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: gateway.port, path: '/stream/big' }, (res) => {
        let bytes = 0;
        res.once('data', () => clientSawFirstByte());
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ bytes, contentLength: res.headers['content-length'] }));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    expect(received).toEqual({ bytes: BODY_BYTES, contentLength: String(BODY_BYTES) });
  });

  it('delivers a gzip-encoded response intact', async () => {
    const body = await new Promise<Buffer>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: gateway.port, path: '/stream/gzip', headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve(res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw);
        });
      })
        .on('error', reject)
        .end();
    });
    expect(JSON.parse(body.toString())).toMatchObject({ compressed: true });
  });
});

describe('WebSocket', () => {
  it('passes an upgrade through to the origin and relays messages both ways', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${gateway.port}/ws/chat`, { headers: { 'x-forwarded-for': '6.6.6.6' } });
    const messages: string[] = [];
    const gotTwo = new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        messages.push(String(data));
        if (messages.length === 1) socket.send('ping');
        if (messages.length === 2) resolve();
      });
      socket.on('error', reject);
    });
    await gotTwo;
    socket.close();
    expect(JSON.parse(messages[0]!)).toEqual({ hello: true, xForwardedFor: '127.0.0.1', path: '/ws/chat' });
    expect(messages[1]).toBe('echo:ping');
  });
});
