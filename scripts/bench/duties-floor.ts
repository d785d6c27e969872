/**
 * @module Bench reference: the runtime work the gateway's features oblige it to do for each request of the bench's
 * service, done as directly as the Workers API allows, with no framework, routing table, policy or state: the same
 * bytes on the wire as the gateway (the upstream request's forwarding, trace, identity and `Via` headers; the response's
 * ids, RateLimit, Server-Timing and security headers), a per-try timeout around the upstream call, a sampled
 * access log line. It is the floor of any implementation of these features on this runtime: what it costs above
 * the pass-through is what the duties cost, what the gateway costs above it is the gateway's own work (the ledger).
 */

type Bindings = { ORIGIN: string };

const PER_TRY_TIMEOUT_MS = 30_000;
const ACCESS_LOG_SAMPLE_RATE = 0.1;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const random = new Uint8Array(24);

export default {
  fetch(request: Request, env: Bindings): Promise<Response> {
    const started = Date.now();
    const requestId = crypto.randomUUID();
    crypto.getRandomValues(random);
    let traceId = '';
    for (let i = 0; i < 16; i++) traceId += HEX[random[i]!];
    let spanId = '';
    for (let i = 16; i < 24; i++) spanId += HEX[random[i]!];
    const traceparent = `00-${traceId}-${spanId}-01`;

    const url = new URL(request.url);
    const upstream = new Request(`${env.ORIGIN}${url.pathname}${url.search}`, { method: request.method, headers: request.headers, redirect: 'manual' });
    const headers = upstream.headers;
    headers.set('x-forwarded-proto', url.protocol.slice(0, -1));
    headers.set('x-forwarded-host', url.host);
    headers.set('forwarded', `for=unknown;host="${url.host}";proto=${url.protocol.slice(0, -1)}`);
    headers.set('x-request-id', requestId);
    headers.set('traceparent', traceparent);
    headers.set('x-consumer-id', 'bench:bench-client');
    headers.set('x-user-id', 'bench-client');
    headers.set('via', '1.1 edge-gateway');

    return new Promise<Response>((resolve, reject) => {
      const answer = fetch(upstream);
      const timer = setTimeout(() => reject(new Error('upstream timeout')), PER_TRY_TIMEOUT_MS);
      answer.then(
        (origin) => {
          clearTimeout(timer);
          const response = new Response(origin.body, origin);
          const out = response.headers;
          const totalMs = Date.now() - started;
          out.set('x-request-id', requestId);
          out.set('traceparent', traceparent);
          out.set('ratelimit', '"bench";r=999999;t=0');
          out.set('ratelimit-policy', '"bench";q=60000000;w=60');
          out.set('server-timing', `upstream;dur=${totalMs}, total;dur=${totalMs}`);
          out.set('x-content-type-options', 'nosniff');
          out.set('x-frame-options', 'DENY');
          out.set('referrer-policy', 'no-referrer');
          if (Math.random() < ACCESS_LOG_SAMPLE_RATE) {
            console.log(JSON.stringify({ type: 'access', level: 'info', requestId, traceId, service: 'bench', status: response.status, latencyMs: totalMs }));
          }
          resolve(response);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  },
};
