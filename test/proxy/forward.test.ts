/** forward's retry on an origin's 502/503/504, when the refused response's body cannot be cancelled. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServicePool } from '../../src/balancing/service-pool.ts';
import { parseGatewayConfig } from '../../src/config/load.ts';
import { traceContextFrom } from '../../src/observability/trace-context.ts';
import { forward } from '../../src/proxy/forward.ts';

afterEach(() => vi.unstubAllGlobals());

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
