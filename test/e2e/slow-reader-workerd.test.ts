/**
 * A streamed response to a client that reads slowly, under plain `workerd serve` with a real origin. The idle watch
 * took the client's backpressure for the origin's silence: with the client not reading, no chunk passed the watch,
 * and after `responseIdleMs` the gateway cut off an origin that had plenty to send and logged response-idle-timeout
 * against it. Each side now has its own bound: the origin `responseIdleMs`, the client `gateway.limits.bodyIdleTimeoutMs`.
 */
import type { ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { E2E_ADMIN_HEADERS, rawRequest, type RunningGateway } from './harness.ts';
import { startOrigin, type TestOrigin } from './origins.ts';
import { startWorkerdGateway } from './workerd-harness.ts';

/** The origin's bound: silent this long when asked for its next chunk, it is cut off. */
const RESPONSE_IDLE_MS = 300;
/** The client's bound: taking nothing for this long, it is cut off. Well above the pause a slow reader takes. */
const CLIENT_IDLE_MS = 1_500;

let gateway: RunningGateway;
let origin: TestOrigin;
/** The origin's latest response: an endless body, written as fast as the gateway takes it. */
let firehose: ServerResponse | undefined;

beforeAll(async () => {
  origin = await startOrigin((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    firehose = res;
    const chunk = Buffer.alloc(64 * 1024, 120);
    const pump = () => {
      while (res.write(chunk));
      res.once('drain', pump);
    };
    pump();
  });
  gateway = await startWorkerdGateway({
    gateway: { limits: { bodyIdleTimeoutMs: CLIENT_IDLE_MS } },
    services: [
      {
        name: 'feed',
        routes: [{ pathPrefix: '/feed' }],
        instances: [{ id: 'feed-1', url: origin.url }],
        timeouts: { responseIdleMs: RESPONSE_IDLE_MS },
        policies: {
          concurrency: { maxInFlight: 1, maxQueue: 0, queueTimeoutMs: 0 },
          circuitBreaker: { minimumCalls: 1, consecutiveFailures: 1 },
          outlierEjection: { consecutiveFailures: 1 },
        },
      },
    ],
  });
});

afterAll(async () => {
  firehose?.destroy();
  await gateway?.stop();
  await origin?.close();
});

/** Opens GET /feed on a raw connection and resolves once more than 64 KiB of the response has arrived. */
async function openFeed(): Promise<Socket> {
  const socket = connect(gateway.port, '127.0.0.1', () => socket.write('GET /feed/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
  socket.on('error', () => {});
  // A paused socket left open on failure keeps workerd from stopping.
  onTestFinished(() => void socket.destroy());
  let received = 0;
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= 64 * 1024) return;
      socket.off('data', onData);
      resolve();
    };
    socket.on('data', onData);
  });
  return socket;
}

async function feedState() {
  const response = await rawRequest(gateway.url, '/gateway/load-balancing', { headers: E2E_ADMIN_HEADERS });
  const entry = response.json<{ services: { service: string; concurrency: { inFlight: number; queued: number }; instances: { inFlight: { thisIsolate: number }; ejected: boolean }[] }[] }>().services.find(
    (s) => s.service === 'feed',
  )!;
  return { gate: entry.concurrency, instanceInFlight: entry.instances[0]!.inFlight.thisIsolate, ejected: entry.instances[0]!.ejected };
}

/** Polls the feed's state until nothing is held, within a bounded number of tries. */
async function released() {
  let state = await feedState();
  for (let i = 0; i < 100 && (state.gate.inFlight !== 0 || state.instanceInFlight !== 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    state = await feedState();
  }
  return state;
}

describe('a streamed response to a client that reads slowly', () => {
  it('is not cut off while the client pauses for several of the origin\'s idle timeouts', async () => {
    const socket = await openFeed();
    const response = firehose!;
    // The pause is the point of the test: the origin, blocked by backpressure, has more to send all along.
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 3 * RESPONSE_IDLE_MS));
    expect(response.destroyed).toBe(false);
    expect((await feedState()).gate.inFlight).toBe(1);

    // Reading again, the client gets the rest: the origin's writes drain again.
    const drained = new Promise((resolve) => response.once('drain', resolve));
    socket.resume();
    await drained;
    socket.destroy();
    expect(await released()).toEqual({ gate: { inFlight: 0, queued: 0 }, instanceInFlight: 0, ejected: false });
  });

  it('cuts off a client that takes nothing for the client bound: the origin\'s stream is closed, the slot released, the origin not blamed', async () => {
    const socket = await openFeed();
    const originClosed = new Promise((resolve) => firehose!.once('close', resolve));
    const pausedAt = Date.now();
    socket.pause();
    await originClosed;
    // The client's bound, not the origin's, ended it.
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(CLIENT_IDLE_MS - 50);
    expect(await released()).toEqual({ gate: { inFlight: 0, queued: 0 }, instanceInFlight: 0, ejected: false });
    expect(gateway.output()).toContain('"event":"client-read-timeout"');
    expect(gateway.output()).not.toContain('"event":"response-idle-timeout"');
    const breakers = await rawRequest(gateway.url, '/gateway/circuit-breakers', { headers: E2E_ADMIN_HEADERS });
    const feed = breakers.json<{ services: { service: string; breaker: { state: string; failures: number } }[] }>().services.find((s) => s.service === 'feed');
    expect(feed?.breaker).toMatchObject({ state: 'closed', failures: 0 });
  });
});
