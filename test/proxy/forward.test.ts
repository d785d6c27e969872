/** forward's retry on an origin's 502/503/504, when the refused response's body cannot be cancelled. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServicePool } from '../../src/balancing/service-pool.ts';
import { parseGatewayConfig } from '../../src/config/load.ts';
import { traceContextFrom } from '../../src/observability/trace-context.ts';
import { forward, type ForwardRequest } from '../../src/proxy/forward.ts';
import { ABANDONED_AFTER_MS, waitingAttempts } from '../../src/proxy/waiting-attempts.ts';

afterEach(() => vi.unstubAllGlobals());

const get = (onDelivered?: () => void): ForwardRequest => ({
  method: 'GET',
  path: '/x',
  search: '',
  headers: new Headers(),
  body: null,
  contentLength: undefined,
  trace: traceContextFrom(new Headers()),
  webSocket: false,
  onDelivered,
});

describe('forward, retrying after a 503', () => {
  it('still retries on the other instance when cancelling the 503 body fails', async () => {
    const config = parseGatewayConfig({
      services: [{ name: 'svc', routes: [{ pathPrefix: '/svc' }], instances: [{ id: 'a', url: 'http://a.invalid' }, { id: 'b', url: 'http://b.invalid' }] }],
    });
    const pool = new ServicePool(config.services[0]!);
    const asked: string[] = [];
    vi.stubGlobal('fetch', async (request: Request) => {
      asked.push(new URL(request.url).host);
      if (asked.length > 1) return new Response('from the second', { status: 200 });
      // A body whose source refuses to be cancelled, as one that already failed does.
      const body = new ReadableStream({
        cancel() {
          throw new Error('the body already failed');
        },
      });
      return new Response(body, { status: 503 });
    });
    const waited: Promise<unknown>[] = [];
    const response = await forward(
      pool,
      { method: 'GET', path: '/x', search: '', headers: new Headers(), body: null, contentLength: undefined, trace: traceContextFrom(new Headers()), webSocket: false },
      (promise) => waited.push(promise),
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('from the second');
    expect(asked).toHaveLength(2);
    expect(new Set(asked).size).toBe(2);
    await Promise.all(waited);
  });
});

describe('forward, a bodiless request the runtime drops while it waits for the origin', () => {
  const REQUEST_MS = 60_000;
  const poolOf = (name: string) =>
    new ServicePool(
      parseGatewayConfig({ services: [{ name, routes: [{ pathPrefix: `/${name}` }], instances: [{ id: 'only', url: 'http://only.invalid' }], timeouts: { requestMs: REQUEST_MS } }] }).services[0]!,
    );

  it('gives back the in-flight unit and the slot at the first request after its timeout and the grace', async () => {
    // The origin never answers and the per-try timer (a minute) does not fire during the test: from the isolate,
    // this is what a request looks like whose continuation the runtime cancelled when its client left.
    vi.stubGlobal('fetch', () => new Promise<Response>(() => {}));
    const pool = poolOf('dropped');
    let released = 0;
    const started = Date.now();
    void forward(pool, get(() => released++), () => {});
    const instance = pool.instances[0]!;
    expect(instance.inFlight).toBe(1);

    // Still within its timeout and the grace: a later request's sweep leaves it alone.
    const endsBy = started + REQUEST_MS;
    waitingAttempts.sweep(endsBy + ABANDONED_AFTER_MS - 2_000);
    expect(instance.inFlight).toBe(1);
    expect(released).toBe(0);

    waitingAttempts.sweep(endsBy + ABANDONED_AFTER_MS + 1_000);
    expect(instance.inFlight).toBe(0);
    expect(released).toBe(1);
  });

  it('counts an attempt once when its continuation runs after all (an isolate that stalled past the grace)', async () => {
    let answer!: (response: Response) => void;
    vi.stubGlobal('fetch', () => new Promise<Response>((resolve) => (answer = resolve)));
    const pool = poolOf('stalled');
    const started = Date.now();
    const forwarding = forward(pool, get(), () => {});
    const instance = pool.instances[0]!;
    waitingAttempts.sweep(started + REQUEST_MS + ABANDONED_AFTER_MS + 300_000);
    expect(instance.inFlight).toBe(0);

    answer(new Response('late but fine', { headers: { 'content-length': '13' } }));
    const response = await forwarding;
    expect(await response.text()).toBe('late but fine');
    expect(instance.inFlight).toBe(0);
  });
});
