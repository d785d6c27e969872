/**
 * Fault tests (issue #14, 5) under `wrangler dev` with real Node origins: for each fault, what the client must see
 * and what must not be lost. The Durable Object reset is in faults-durable-object-reset.test.ts (it restarts the
 * runtime).
 */
import { request as httpRequest, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN_HEADERS, rawRequest, startGateway, type RawResponse, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

const HANG_TIMEOUT_MS = 600;
let gateway: RunningGateway;
/** /cut streams 64 KiB and waits for the test to kill its connection; /hang never answers. */
let faulty: TestOrigin;
let flappy: TestOrigin;
let steady: TestOrigin;
let downA: TestOrigin;
let downB: TestOrigin;
let blue: TestOrigin;
let green: TestOrigin;
let flapping = false;
const streaming: ServerResponse[] = [];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  faulty = await startOrigin((req, res) => {
    req.resume();
    if (req.url?.startsWith('/cut')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(64 * 1024, 120));
      streaming.push(res);
    } else hanging.push(res);
  });
  // Fails requests and probes alike while `flapping`.
  const flapAnswer = (name: string) => (req: Parameters<Parameters<typeof startOrigin>[0]>[0], res: ServerResponse) => {
    req.resume();
    res.writeHead(flapping ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ origin: name, path: req.url }));
  };
  flappy = await startOrigin(flapAnswer('flappy'), { onProbe: flapAnswer('flappy-probe') });
  [steady, downA, downB, blue, green] = await Promise.all([
    startOrigin(answer('steady')),
    startOrigin(answer('down-a')),
    startOrigin(answer('down-b')),
    startOrigin(answer('blue')),
    startOrigin(answer('green')),
  ]);
  gateway = await startGateway({
    gateway: {
      statePlane: { syncIntervalMs: 200, callTimeoutMs: 2_000 },
      controlPlane: { allowPrivateOriginAddresses: true, pollIntervalMs: 500 },
      alerting: { defaultRules: false },
    },
    services: [
      { name: 'cut', routes: [{ pathPrefix: '/cut' }], instances: [{ id: 'cut-1', url: faulty.url }], retries: { attempts: 0 } },
      {
        name: 'hang',
        routes: [{ pathPrefix: '/hang' }],
        instances: [{ id: 'hang-1', url: faulty.url }],
        timeouts: { requestMs: HANG_TIMEOUT_MS },
        policies: { concurrency: { maxInFlight: 1, maxQueue: 0 } },
      },
      {
        name: 'flap',
        routes: [{ pathPrefix: '/flap' }],
        instances: [{ id: 'flappy', url: flappy.url }, { id: 'steady', url: steady.url }],
        loadBalancing: { strategy: 'round_robin', failureCooldownMs: 0 },
        // No floor of retries per second: every retry is paid for by 5 requests (20 %).
        retries: { attempts: 1, budgetRatio: 0.2, budgetMinPerSecond: 0 },
        // Ejected for ten minutes: within the test only a passing health check can bring it back.
        policies: { outlierEjection: { consecutiveFailures: 3, baseEjectionSeconds: 600 } },
        healthCheck: { intervalSeconds: 5, unhealthyThreshold: 1, healthyThreshold: 1, timeoutMs: 1_000 },
      },
      {
        name: 'down',
        routes: [{ pathPrefix: '/down' }],
        instances: [{ id: 'down-a', url: downA.url }, { id: 'down-b', url: downB.url }],
        loadBalancing: { strategy: 'round_robin', failureCooldownMs: 0 },
        healthCheck: { enabled: false },
        policies: { circuitBreaker: { minimumCalls: 4, failureRateThreshold: 0.5, openSeconds: 2, halfOpenProbes: 1 } },
      },
      { name: 'mix', routes: [{ pathPrefix: '/mix', rewritePrefix: '/blue' }], instances: [{ id: 'blue', url: blue.url }] },
    ],
  });
}, 60_000);

afterAll(async () => {
  for (const res of [...streaming, ...hanging]) res.destroy();
  await gateway?.stop();
  await Promise.all([faulty, flappy, steady, downA, downB, blue, green].map((origin) => origin?.close()));
});

/** Polls `read` every 100 ms until `accept` holds or `timeoutMs` passes; returns the last value read. */
async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

interface InstanceView {
  id: string;
  ejected: boolean;
  inFlight: { thisIsolate: number; allIsolates: number };
}

async function balancing(service: string): Promise<{ concurrency: { inFlight: number; queued: number } | null; instances: InstanceView[] }> {
  const response = await rawRequest(gateway.url, '/gateway/load-balancing', { headers: E2E_ADMIN_HEADERS });
  return response.json<{ services: { service: string; concurrency: { inFlight: number; queued: number } | null; instances: InstanceView[] }[] }>().services.find((s) => s.service === service)!;
}

/** The service's breaker state (undefined when it has no breaker policy) and its breaker and ejection events. */
async function breaker(service: string): Promise<{ state: string | undefined; events: { kind: string; instance: string | null }[] }> {
  const response = await rawRequest(gateway.url, '/gateway/circuit-breakers', { headers: E2E_ADMIN_HEADERS });
  const entry = response.json<{ services: { service: string; breaker: { state: string } | null; events: { kind: string; instance: string | null }[] }[] }>().services.find((s) => s.service === service)!;
  return { state: entry.breaker?.state, events: entry.events };
}

async function instanceHealth(service: string, id: string): Promise<string | undefined> {
  const response = await rawRequest(gateway.url, '/health/services', { headers: E2E_ADMIN_HEADERS });
  const body = response.json<{ services: { name?: string; service?: string; instances: { id: string; status: string }[] }[] }>();
  const entry = body.services.find((s) => (s.name ?? s.service) === service);
  return entry?.instances.find((instance) => instance.id === id)?.status;
}

/** A GET whose body is read as it streams; says how the body ended: complete, with an error, or not within 10 s. */
function streamedGet(path: string): { received: () => number; done: Promise<{ status: number; bytes: number; ending: 'complete' | 'error' | 'hang' }> } {
  let bytes = 0;
  const done = new Promise<{ status: number; bytes: number; ending: 'complete' | 'error' | 'hang' }>((resolve) => {
    const { hostname, port } = new URL(gateway.url);
    let status = 0;
    const finish = (ending: 'complete' | 'error' | 'hang') => {
      clearTimeout(timer);
      resolve({ status, bytes, ending });
    };
    const timer = setTimeout(() => {
      finish('hang');
      req.destroy();
    }, 10_000);
    const req = httpRequest({ host: hostname, port, path, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => finish(res.complete ? 'complete' : 'error'));
      res.on('error', () => finish('error'));
      res.on('close', () => finish(res.complete ? 'complete' : 'error'));
    });
    req.on('error', () => finish('error'));
    req.end();
  });
  return { received: () => bytes, done };
}

const problemType = (response: RawResponse) => (response.headers['content-type']?.startsWith('application/problem+json') ? response.json<{ type: string }>().type : undefined);

describe('faults', () => {
  it('an origin killed mid-stream: the client body ends in an error, not a hang, and the in-flight count returns to 0', async () => {
    const client = streamedGet('/cut/download');
    await until(async () => client.received(), (bytes) => bytes > 0);
    const during = await balancing('cut');
    expect(during.instances[0]!.inFlight.thisIsolate).toBe(1);

    const started = Date.now();
    streaming.shift()!.socket!.destroy();
    const result = await client.done;
    expect(result.status).toBe(200);
    expect(result.ending).toBe('error');
    expect(result.bytes).toBeGreaterThan(0);
    expect(result.bytes).toBeLessThan(64 * 1024 + 1);
    expect(Date.now() - started).toBeLessThan(5_000);

    const after = await until(() => balancing('cut'), (state) => state.instances[0]!.inFlight.thisIsolate === 0);
    expect(after.instances[0]!.inFlight.thisIsolate).toBe(0);
    // And the instance still serves: nothing was left half-open.
    const next = streamedGet('/cut/again');
    await until(async () => streaming.length, (count) => count === 1);
    streaming.shift()!.end();
    expect(await next.done).toMatchObject({ status: 200, ending: 'complete', bytes: 64 * 1024 });
  });

  it('an origin that hangs: 504 at the timeout, and the concurrency slot is released', async () => {
    for (let round = 0; round < 2; round++) {
      const started = Date.now();
      const pending = rawRequest(gateway.url, '/hang/x');
      // While it waits, the one slot is taken: a second request is refused at once.
      await until(() => balancing('hang'), (state) => state.concurrency?.inFlight === 1);
      const refused = await rawRequest(gateway.url, '/hang/y');
      expect(refused.status).toBe(503);
      expect(problemType(refused)).toBe('urn:edge-gateway:problem:concurrency-limit');

      const response = await pending;
      const elapsed = Date.now() - started;
      expect(response.status).toBe(504);
      expect(problemType(response)).toBe('urn:edge-gateway:problem:upstream-timeout');
      expect(elapsed).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS - 10);
      expect(elapsed).toBeLessThan(HANG_TIMEOUT_MS + 3_000);
      // Released with the answer: the next round is admitted (504 again, not 503 concurrency-limit).
      const after = await until(() => balancing('hang'), (state) => state.concurrency?.inFlight === 0 && state.instances[0]!.inFlight.thisIsolate === 0);
      expect(after.concurrency).toEqual({ inFlight: 0, queued: 0 });
      expect(after.instances[0]!.inFlight.thisIsolate).toBe(0);
    }
  });

  it('an origin that flaps: ejected, health-checked back, and retries stay within the retry budget', async () => {
    // Arm the health checks and see the instance healthy before it starts failing.
    await rawRequest(gateway.url, '/flap/warm-up');
    expect(await until(() => instanceHealth('flap', 'flappy'), (status) => status === 'healthy', 20_000)).toBe('healthy');

    flapping = true;
    const flappyBefore = flappy.requests.length;
    const steadyBefore = steady.requests.length;
    // A burst of 40 at once, before any isolate can know: about half go to the failing instance first, and the budget
    // lets only a fifth of the requests be retried; the rest get the origin's own 503.
    const statuses: number[] = (await Promise.all(Array.from({ length: 40 }, (_, i) => rawRequest(gateway.url, `/flap/burst-${i}`)))).map((response) => response.status);
    // Then one at a time until the instance is out of rotation (ejected by the state plane or unhealthy by the probes).
    await until(
      async () => {
        statuses.push((await rawRequest(gateway.url, `/flap/${statuses.length}`)).status);
        return (await balancing('flap')).instances.find((instance) => instance.id === 'flappy')!.ejected;
      },
      (ejected) => ejected,
      15_000,
    );
    // What the client saw: the steady instance's 200, or the flapping origin's own 503 when the budget had no retry.
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    const attempts = flappy.requests.length - flappyBefore + (steady.requests.length - steadyBefore);
    const retries = attempts - statuses.length;
    // Every retry is paid for by five requests in the 10 s window (budgetRatio 0.2, no per-second floor; the warm-up
    // request counts too).
    expect(retries).toBeLessThanOrEqual(Math.ceil(0.2 * (statuses.length + 1)));
    expect(retries).toBeGreaterThan(0);
    // Each 503 the client saw is one the budget refused to retry, never a gateway error.
    expect(statuses.filter((status) => status === 503).length).toBe(flappy.requests.length - flappyBefore - retries);

    console.info(`[faults] flap: ${statuses.length} requests until ejected (${statuses.filter((status) => status === 200).length} × 200, ${statuses.filter((status) => status === 503).length} × the origin's 503), the flapping origin saw ${flappy.requests.length - flappyBefore}, ${retries} retries`);
    // Out of rotation: 20 more requests never reach it, and all succeed.
    const flappyOut = flappy.requests.length;
    for (let i = 0; i < 20; i++) expect((await rawRequest(gateway.url, `/flap/out-${i}`)).json()).toMatchObject({ origin: 'steady' });
    expect(flappy.requests.length).toBe(flappyOut);

    // It recovers: the probes see it pass and return it long before its 600 s ejection is over.
    flapping = false;
    await until(() => balancing('flap'), (state) => !state.instances.find((instance) => instance.id === 'flappy')!.ejected, 20_000);
    await until(() => instanceHealth('flap', 'flappy'), (status) => status === 'healthy', 20_000);
    await until(
      async () => (await rawRequest(gateway.url, '/flap/back')).json<{ origin: string }>().origin,
      () => flappy.requests.length > flappyOut,
      10_000,
    );
    expect(flappy.requests.length).toBeGreaterThan(flappyOut);
    const { events } = await breaker('flap');
    expect(events.filter((event) => event.instance === 'flappy').map((event) => event.kind)).toEqual(expect.arrayContaining(['instance-ejected', 'instance-returned']));
  }, 90_000);

  it('all instances down: 502 upstream-unreachable, then the breaker opens (503 circuit-open), and recovers when they return', async () => {
    const ports = [downA.port, downB.port];
    await Promise.all([downA.close(), downB.close()]);
    const seen: { status: number; type: string | undefined }[] = [];
    await until(
      async () => {
        const response = await rawRequest(gateway.url, '/down/x');
        seen.push({ status: response.status, type: problemType(response) });
        return response;
      },
      (response) => problemType(response) === 'urn:edge-gateway:problem:circuit-open',
      15_000,
    );
    expect(seen[0]).toEqual({ status: 502, type: 'urn:edge-gateway:problem:upstream-unreachable' });
    const allowed = ['502 urn:edge-gateway:problem:upstream-unreachable', '503 urn:edge-gateway:problem:circuit-open', '503 urn:edge-gateway:problem:no-instance-available'];
    expect(seen.map((entry) => `${entry.status} ${entry.type}`).filter((answer) => !allowed.includes(answer))).toEqual([]);
    expect((await breaker('down')).state).toBe('open');
    console.info(`[faults] all down: ${JSON.stringify(seen.map((entry) => `${entry.status} ${entry.type?.split(':').pop()}`))}`);
    const open = await rawRequest(gateway.url, '/down/x');
    expect(open.status).toBe(503);
    expect(Number(open.headers['retry-after'])).toBeGreaterThan(0);

    [downA, downB] = await Promise.all([startOrigin(answer('down-a'), { port: ports[0] }), startOrigin(answer('down-b'), { port: ports[1] })]);
    // After openSeconds (2 s) the half-open probe goes through, succeeds, and the breaker closes.
    const back = await until(() => rawRequest(gateway.url, '/down/x'), (response) => response.status === 200, 15_000);
    expect(back.status).toBe(200);
    expect(await until(async () => (await breaker('down')).state, (state) => state === 'closed', 10_000)).toBe('closed');
    for (let i = 0; i < 4; i++) expect((await rawRequest(gateway.url, `/down/${i}`)).status).toBe(200);
  }, 60_000);

  it('a configuration change during traffic: every response comes whole from the old or the new routing, no 5xx', async () => {
    const current = (await rawRequest(gateway.url, '/gateway/config', { headers: E2E_ADMIN_HEADERS })).json<{ services: { name: string; routes: { rewritePrefix?: string }[]; instances: { id: string; url: string }[] }[] }>();
    const mix = current.services.find((service) => service.name === 'mix')!;
    mix.routes[0]!.rewritePrefix = '/green';
    mix.instances = [{ id: 'green', url: green.url }];

    // Four clients loop until the new routing has been seen by each of them for a while.
    const answers: { origin: string; path: string; status: number; client: number }[] = [];
    let applied = false;
    const client = async (id: number) => {
      let greenSince: number | undefined;
      for (let i = 0; i < 2_000; i++) {
        const response = await rawRequest(gateway.url, `/mix/item-${id}-${i}`);
        const body = response.status === 200 ? response.json<{ origin: string; path: string }>() : { origin: '', path: '' };
        answers.push({ ...body, status: response.status, client: id });
        if (applied && body.origin === 'green') greenSince ??= Date.now();
        if (greenSince !== undefined && Date.now() - greenSince > 1_000) return;
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await until(async () => answers.length, (count) => count >= 40);
    const put = await rawRequest(gateway.url, '/gateway/config', { method: 'PUT', headers: { ...E2E_ADMIN_HEADERS, 'content-type': 'application/json' }, body: JSON.stringify(current) });
    expect(put.status).toBe(200);
    applied = true;
    await Promise.all(clients);

    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    // Never half-applied: the blue origin only ever sees the blue rewrite, the green origin only the green one.
    const mixed = answers.filter((answer) => !(answer.origin === 'blue' && answer.path.startsWith('/blue/')) && !(answer.origin === 'green' && answer.path.startsWith('/green/')));
    expect(mixed).toEqual([]);
    expect(answers.some((answer) => answer.origin === 'blue')).toBe(true);
    expect(answers.some((answer) => answer.origin === 'green')).toBe(true);
    // One isolate under wrangler dev: once a client saw the new routing, it never sees the old one again.
    for (const id of [0, 1, 2, 3]) {
      const origins = answers.filter((answer) => answer.client === id).map((answer) => answer.origin);
      expect(origins.slice(origins.indexOf('green')).filter((origin) => origin !== 'green')).toEqual([]);
    }
    console.info(`[faults] config change: ${answers.length} answers, ${answers.filter((answer) => answer.origin === 'blue').length} old (blue), ${answers.filter((answer) => answer.origin === 'green').length} new (green)`);
    expect(blue.requests.every((request) => request.url.startsWith('/blue/'))).toBe(true);
    expect(green.requests.every((request) => request.url.startsWith('/green/'))).toBe(true);
  }, 60_000);
});
