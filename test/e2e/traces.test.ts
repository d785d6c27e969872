/** Traces end to end: propagation to a real origin, Server-Timing, and /gateway/traces finding the request. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E_ADMIN_HEADERS, eventually, rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let echo: TestOrigin;
let slow: TestOrigin;

interface TraceBody {
  traces: { traceId: string; spanId: string; requestId: string; service: string; status: number; kept: string; durationMs: number; spans: { name: string; attributes?: Record<string, unknown> }[] }[];
  unavailable: string[];
}

beforeAll(async () => {
  echo = await startOrigin((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ traceparent: req.headers.traceparent ?? null, requestId: req.headers['x-request-id'] ?? null }));
  });
  slow = await startOrigin((req, res) => setTimeout(() => answer('slow')(req, res), 300));
  gateway = await startGateway({
    gateway: {
      statePlane: { syncIntervalMs: 200, callTimeoutMs: 2_000 },
      // Nothing is sampled at random: what is kept is kept for a reason the test controls.
      observability: { traces: { sampleRate: 0, slowMs: 250, keptPerService: 50 } },
    },
    services: [
      { name: 'echo', routes: [{ pathPrefix: '/echo' }], instances: [{ id: 'echo-1', url: echo.url }] },
      { name: 'slow', routes: [{ pathPrefix: '/slow' }], instances: [{ id: 'slow-1', url: slow.url }] },
    ],
  });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([echo, slow].map((origin) => origin?.close()));
});

describe('traces, end to end', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientParent = '00f067aa0ba902b7';

  it('continues the caller\'s trace to the origin, and answers with Server-Timing', async () => {
    const response = await rawRequest(gateway.url, '/echo/a', {
      headers: { traceparent: `00-${traceId}-${clientParent}-01`, 'x-request-id': 'trace-e2e-request-1' },
    });
    expect(response.status).toBe(200);
    const seen = response.json<{ traceparent: string; requestId: string }>();
    const [, seenTrace, seenParent, seenFlags] = seen.traceparent.split('-');
    expect(seenTrace).toBe(traceId);
    // The origin's parent is the gateway's span, not the caller's.
    expect(seenParent).not.toBe(clientParent);
    expect(seenParent).toMatch(/^[0-9a-f]{16}$/);
    expect(seenFlags).toBe('01');
    expect(response.headers.traceparent).toBe(`00-${traceId}-${seenParent}-01`);
    expect(response.headers['server-timing']).toMatch(/^upstream;dur=\d+(\.\d+)?, .*total;dur=\d+/);
  });

  it('finds the request at /gateway/traces by its trace id and by its X-Request-Id', async () => {
    const byTrace = await eventually(async () => {
      const response = await rawRequest(gateway.url, `/gateway/traces/${traceId}`, { headers: E2E_ADMIN_HEADERS });
      expect(response.status).toBe(200);
      return response.json<TraceBody>();
    });
    expect(byTrace.traces).toHaveLength(1);
    const [trace] = byTrace.traces;
    expect(trace).toMatchObject({ traceId, requestId: 'trace-e2e-request-1', service: 'echo', status: 200, kept: 'parent' });
    expect(trace!.spans.find((span) => span.name === 'upstream')!.attributes).toMatchObject({ instance: 'echo-1', attempt: 1, result: 200 });
    const byRequestId = (await rawRequest(gateway.url, '/gateway/traces/trace-e2e-request-1', { headers: E2E_ADMIN_HEADERS })).json<TraceBody>();
    expect(byRequestId.traces.map((t) => t.traceId)).toEqual([traceId]);
  });

  it('keeps a slow request without being asked, and filters by service and duration', async () => {
    expect((await rawRequest(gateway.url, '/slow/x', { headers: { 'x-request-id': 'slow-one' } })).status).toBe(200);
    // Not sampled by the caller, fast, not an error: not kept.
    expect((await rawRequest(gateway.url, '/echo/unsampled', { headers: { 'x-request-id': 'not-kept' } })).status).toBe(200);
    const listed = await eventually(async () => {
      const body = (await rawRequest(gateway.url, '/gateway/traces?service=slow&minDurationMs=250', { headers: E2E_ADMIN_HEADERS })).json<TraceBody>();
      expect(body.traces.map((t) => t.requestId)).toEqual(['slow-one']);
      return body;
    });
    expect(listed.traces[0]).toMatchObject({ kept: 'slow', service: 'slow' });
    expect((await rawRequest(gateway.url, '/gateway/traces/not-kept', { headers: E2E_ADMIN_HEADERS })).status).toBe(404);
    expect((await rawRequest(gateway.url, '/gateway/traces')).status).toBe(401);
  });
});
