// Micro-benchmarks behind docs/performance.md ("In src/proxy/ and the recording point"): the per-attempt abort
// plumbing and the response's hop-by-hop check, in workerd, µs per operation, the best of five rounds.
// Run: node_modules/@cloudflare/workerd-linux-64/bin/workerd serve scripts/bench/micro/config.capnp, then
// curl http://127.0.0.1:18912/ (each request runs every case once more).
const HOP = ['keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const HOP_SET = new Set(['connection', ...HOP]);

export default {
  async fetch(request) {
    const out = {};
    const time = (name, n, fn) => {
      const start = performance.now();
      for (let i = 0; i < n; i++) fn();
      const us = ((performance.now() - start) * 1000) / n;
      out[name] = Math.min(out[name] ?? Infinity, +us.toFixed(2));
    };
    const gone = request.signal;
    // A typical nginx response's headers.
    const upstream = new Response('x', {
      headers: { server: 'nginx', date: new Date().toUTCString(), 'content-type': 'application/json', 'content-length': '35', 'last-modified': new Date(0).toUTCString(), etag: '"abc-23"', 'accept-ranges': 'bytes' },
    });
    for (let round = 0; round < 5; round++) {
      // Abort plumbing (3,000 per round: workerd allows 10,000 active timeouts per request, and `any` keeps its inputs).
      time('abort: controller + AbortSignal.any + setTimeout/clearTimeout (before)', 3000, () => {
        const controller = new AbortController();
        AbortSignal.any([controller.signal, gone]);
        clearTimeout(setTimeout(() => controller.abort(), 30_000));
      });
      time('abort: controller + listener + setTimeout/clearTimeout (after)', 3000, () => {
        const controller = new AbortController();
        const abort = () => controller.abort();
        gone.addEventListener('abort', abort, { once: true });
        clearTimeout(setTimeout(abort, 30_000));
        gone.removeEventListener('abort', abort);
      });
      // Response headers (20,000 per round): copy only, then the copy plus each way of finding hop-by-hop names.
      time('headers: copy only', 20_000, () => new Response(null, upstream));
      time('headers: copy + spread of every entry (before)', 20_000, () => {
        const headers = new Response(null, upstream).headers;
        for (const [name] of [...headers]) if (HOP_SET.has(name)) headers.delete(name);
      });
      time('headers: copy + get(connection) + has() per name (after)', 20_000, () => {
        const headers = new Response(null, upstream).headers;
        headers.get('connection');
        for (const name of HOP) if (headers.has(name)) headers.delete(name);
      });
    }
    return Response.json(out);
  },
};
