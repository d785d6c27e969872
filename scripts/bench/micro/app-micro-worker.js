// The worker of app-micro.ts: the gateway's own fetch handler (the built bundle, imported as ./index.js) called in a
// loop, with globalThis.fetch answering upstream URLs (http://origin.invalid) in-process.
import gateway from './index.js';
export * from './index.js';
const realFetch = globalThis.fetch;
const BODY = '{"id":42,"name":"sample","ok":true}';
function stubFetch(input, init) {
  const url = typeof input === 'string' ? input : input.url;
  if (url.startsWith('http://origin.invalid')) {
    return Promise.resolve(new Response(BODY, { headers: { 'content-type': 'application/json', 'content-length': String(BODY.length), server: 'nginx' } }));
  }
  return realFetch(input, init);
}
// Each call gets its own waitUntil, as each request has deployed: a loop inside one request would otherwise keep
// every request's background promise alive until the loop ends, and the heap it grows inflates the collector's share.
const requestCtx = { waitUntil(promise) { promise.catch(() => {}); }, passThroughOnException() {}, props: {} };
export default {
  async fetch(request, env, ctx) {
    const u = new URL(request.url);
    const n = Number(u.searchParams.get('n') ?? 2000);
    const mode = u.searchParams.get('mode') ?? 'gateway';
    const token = request.headers.get('authorization');
    globalThis.fetch = stubFetch;
    try {
      const make = () => new Request('http://127.0.0.1:8787/bench/items/42?view=full', { headers: { host: '127.0.0.1:8787', authorization: token, 'user-agent': 'wrk', accept: '*/*' } });
      const one = mode === 'gateway'
        ? async () => { const r = await gateway.fetch(make(), env, requestCtx); await r.arrayBuffer(); if (r.status !== 200) throw new Error('status ' + r.status + ' ' + await r.text()); }
        : async () => { const r = await fetch('http://origin.invalid/api/v1/bench/items/42?view=full', make()); await r.arrayBuffer(); };
      for (let i = 0; i < 200; i++) await one();
      const start = performance.now();
      for (let i = 0; i < n; i++) await one();
      const us = ((performance.now() - start) * 1000) / n;
      return new Response(JSON.stringify({ mode, us: +us.toFixed(2) }));
    } finally {
      globalThis.fetch = realFetch;
    }
  },
};
