// Micro-benchmark behind docs/performance.md ("One edge layer"): the shape of the gateway's Hono chain for a
// proxied request, with the steps themselves left out (each layer does what it did in the chain, minus its work),
// so the figure is what the layers and async frames cost: the ten layers of before (security headers and recording
// acting after an `await next()`, the handler an async function) against the four of after (one async edge layer,
// CORS, routing with the service policies, a plain handler). µs per request, alternating rounds, best and median.
// Run: npx esbuild scripts/bench/micro/layers-micro.ts --bundle --format=esm --platform=neutral \
//   --outfile=.bench/layers-micro.js --main-fields=module,main
// then "$(node -p "require.resolve('workerd/package.json',{paths:[require.resolve('wrangler')]})" | xargs dirname)/bin/workerd" \
//   serve scripts/bench/micro/layers-micro.capnp and curl 'http://127.0.0.1:18914/?rounds=15&n=20000'.
import { Hono, type MiddlewareHandler } from 'hono';

const answer = () => Promise.resolve(new Response(null, { status: 204 }));
const passOn: MiddlewareHandler = function passOn(_c, next) {
  return next();
};
const afterChain: MiddlewareHandler = async function afterChain(c, next) {
  await next();
  c.res.headers.set('x-after', '1');
};

// securityHeaders, requestContext, recordRequests, edgeHygiene, armHealthChecksOnFirstRequest, requireAdmin, cors,
// routeRequest, serviceChain, proxyToService.
const tenLayers = new Hono()
  .use(afterChain).use(passOn).use(afterChain).use(passOn).use(passOn).use(passOn).use(passOn).use(passOn).use(passOn)
  .all('*', async () => answer());
// edge (context, recording, hygiene, arming; recording and security headers after), cors, routing + service
// policies, proxyToService.
const fourLayers = new Hono()
  .use(async function edge(c, next) {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof Error)) throw error;
    }
    c.res.headers.set('x-after', '1');
    c.res.headers.set('x-after-2', '1');
  })
  .use(passOn).use(passOn)
  .all('*', () => answer());

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const rounds = Number(url.searchParams.get('rounds') ?? 15);
    const n = Number(url.searchParams.get('n') ?? 20000);
    const client = new Request('http://127.0.0.1:8787/bench/items/42');
    const apps = { ten: tenLayers, four: fourLayers };
    const runs: Record<string, number[]> = { ten: [], four: [] };
    for (let round = 0; round <= rounds; round++) {
      for (const [name, app] of Object.entries(apps)) {
        const start = performance.now();
        for (let i = 0; i < n; i++) await app.fetch(client);
        // Round 0 warms up.
        if (round > 0) runs[name]!.push(((performance.now() - start) * 1000) / n);
      }
    }
    const summary = Object.fromEntries(Object.entries(runs).map(([name, us]) => {
      const sorted = [...us].sort((a, b) => a - b);
      return [name, { best: +sorted[0]!.toFixed(3), median: +sorted[Math.floor(sorted.length / 2)]!.toFixed(3) }];
    }));
    return Response.json(summary);
  },
};
