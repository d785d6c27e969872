/**
 * WebSocket upgrades through the gateway under plain `workerd serve`, against a real origin: what the client gets when
 * the origin accepts, refuses, never answers or hangs up mid-handshake, and what the gateway still holds afterwards.
 * A socket counts as in flight only until the upgrade (README, Known limits): the runtime relays it from then on.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { claimsAt, hmacToken } from '../support/tokens.ts';
import { E2E_ADMIN_HEADERS, eventually, rawRequest, type RunningGateway } from './harness.ts';
import { startOrigin, type TestOrigin } from './origins.ts';
import { startWorkerdGateway } from './workerd-harness.ts';

/** The socket service's request timeout: the longest a handshake the origin never answers holds its slot. */
const REQUEST_MS = 800;
const JWT_SECRET = 'websocket-e2e-secret-0123456789-abcdefghij';

let gateway: RunningGateway;
let origin: TestOrigin;
const wss = new WebSocketServer({ noServer: true });
/** Sockets the origin holds open, and handshakes it never answers. */
const open = new Set<WebSocket>();
const unanswered: Duplex[] = [];
/** Resolved by the origin when a socket it accepted closes. */
let onOriginClose: () => void = () => {};

beforeAll(async () => {
  origin = await startOrigin((_req, res) => res.end('not a websocket'));
  // /accept: echoes; /refuse/<status>: answers the handshake with that status; /never: never answers;
  // /hang-up: starts a 101 and closes the connection.
  origin.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = req.url ?? '';
    const refused = /\/refuse\/(\d{3})$/.exec(path);
    if (refused) return void socket.end(`HTTP/1.1 ${refused[1]} Refused\r\ncontent-type: text/plain\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused`);
    if (path.endsWith('/never')) return void unanswered.push(socket);
    if (path.endsWith('/hang-up')) return void socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n');
    wss.handleUpgrade(req, socket, head, (ws) => {
      open.add(ws);
      ws.send(`hello ${req.headers['x-user-id'] ?? 'anonymous'}`);
      ws.on('message', (data) => ws.send(`echo:${String(data)}`));
      ws.on('close', () => {
        open.delete(ws);
        onOriginClose();
      });
    });
  });
  gateway = await startWorkerdGateway(
    {
      gateway: { auth: { issuers: [{ name: 'local', issuer: 'edge-gateway-dev', kind: 'secret', audience: ['edge-gateway'] }] } },
      services: [
        {
          name: 'sockets',
          routes: [{ pathPrefix: '/sockets' }],
          instances: [{ id: 'sockets-1', url: origin.url }],
          timeouts: { requestMs: REQUEST_MS },
          policies: { concurrency: { maxInFlight: 2, maxQueue: 0, queueTimeoutMs: 0 }, circuitBreaker: { minimumCalls: 100 } },
        },
        { name: 'private', routes: [{ pathPrefix: '/private' }], instances: [{ url: origin.url }], policies: { auth: {} } },
        { name: 'limited', routes: [{ pathPrefix: '/limited' }], instances: [{ url: origin.url }], policies: { rateLimit: { limit: 1, windowSeconds: 3_600, burst: 1 } } },
      ],
    },
    { JWT_SECRET },
  );
});

afterAll(async () => {
  for (const socket of unanswered) socket.destroy();
  await gateway?.stop();
  await origin?.close();
});

type Opened = { socket: WebSocket; greeting: string } | { status: number; contentType: string; body: string };

/** Opens a WebSocket through the gateway: the socket and the origin's greeting, or the refusal the client got. */
function connectThrough(path: string, headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${gateway.port}${path}`, { headers });
    socket.once('message', (data) => resolve({ socket, greeting: String(data) }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, contentType: res.headers['content-type'] ?? '', body }));
    });
    socket.once('error', reject);
  });
}

function refusal(opened: Opened) {
  if ('socket' in opened) throw new Error('the socket opened');
  return opened;
}

async function sockets() {
  const response = await rawRequest(gateway.url, '/gateway/load-balancing', { headers: E2E_ADMIN_HEADERS });
  const entry = response.json<{ services: { service: string; concurrency: { inFlight: number; queued: number } | null; instances: { inFlight: { thisIsolate: number } }[] }[] }>().services.find(
    (s) => s.service === 'sockets',
  )!;
  return { gate: entry.concurrency, instanceInFlight: entry.instances[0]!.inFlight.thisIsolate };
}

async function breaker(service: string) {
  const response = await rawRequest(gateway.url, '/gateway/circuit-breakers', { headers: E2E_ADMIN_HEADERS });
  return response.json<{ services: { service: string; breaker: { state: string; calls: number; failures: number } }[] }>().services.find((s) => s.service === service)!.breaker;
}

describe('a WebSocket through the gateway', () => {
  it('relays both ways, and gives back its slot and in-flight count at the upgrade', async () => {
    const opened = await connectThrough('/sockets/accept');
    if (!('socket' in opened)) throw new Error(`refused ${opened.status}`);
    expect(opened.greeting).toBe('hello anonymous');
    const echoed = new Promise((resolve) => opened.socket.once('message', (data) => resolve(String(data))));
    opened.socket.send('ping');
    expect(await echoed).toBe('echo:ping');
    expect(await sockets()).toEqual({ gate: { inFlight: 0, queued: 0 }, instanceInFlight: 0 });

    // The client vanishes without a close frame: the origin's socket is closed too.
    const originClosed = new Promise<void>((resolve) => (onOriginClose = resolve));
    opened.socket.terminate();
    await originClosed;
    expect(open.size).toBe(0);
  });

  it('passes the origin\'s refusals of a handshake (400, 404, 426) through, and none counts against it', async () => {
    for (const status of [400, 404, 426]) {
      expect(refusal(await connectThrough(`/sockets/refuse/${status}`))).toMatchObject({ status, body: 'refused' });
    }
    // Once the service's object has counted the accepted handshake and the three refusals.
    const counted = await eventually(async () => {
      const state = await breaker('sockets');
      expect(state.calls).toBeGreaterThanOrEqual(4);
      return state;
    });
    expect(counted).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('answers a handshake the origin never answers 504 upstream-timeout, and frees the slot', async () => {
    const refused = refusal(await connectThrough('/sockets/never'));
    expect(refused.status).toBe(504);
    expect(refused.contentType).toContain('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ type: 'urn:edge-gateway:problem:upstream-timeout', status: 504 });
    expect(await sockets()).toEqual({ gate: { inFlight: 0, queued: 0 }, instanceInFlight: 0 });
  });

  it('answers an origin that hangs up mid-handshake 502 upstream-unreachable, and frees the slot', async () => {
    const refused = refusal(await connectThrough('/sockets/hang-up'));
    expect(refused.status).toBe(502);
    expect(JSON.parse(refused.body)).toMatchObject({ type: 'urn:edge-gateway:problem:upstream-unreachable' });
    expect(await sockets()).toEqual({ gate: { inFlight: 0, queued: 0 }, instanceInFlight: 0 });
  });

  it('refuses a handshake without credentials 401 on a service with auth, and lets one with a token through', async () => {
    const refused = refusal(await connectThrough('/private/accept'));
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ type: 'urn:edge-gateway:problem:unauthorized' });

    const now = Math.floor(Date.now() / 1000);
    const token = await hmacToken(claimsAt(now, { sub: 'alice', iss: 'edge-gateway-dev', aud: 'edge-gateway' }), JWT_SECRET);
    const opened = await connectThrough('/private/accept', { authorization: `Bearer ${token}` });
    if (!('socket' in opened)) throw new Error(`refused ${opened.status}: ${opened.body}`);
    expect(opened.greeting).toBe('hello alice');
    opened.socket.close();
  });

  it('counts a handshake against the rate limit and refuses the next one 429 rate-limited', async () => {
    const first = await connectThrough('/limited/accept');
    if (!('socket' in first)) throw new Error(`refused ${first.status}`);
    first.socket.close();
    const refused = refusal(await connectThrough('/limited/accept'));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ type: 'urn:edge-gateway:problem:rate-limited' });
  });
});
