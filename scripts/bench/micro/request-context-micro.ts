// Micro-benchmarks behind docs/performance.md ("request-context"): each step of src/middleware/request-context.ts
// on its own, in workerd, µs per operation, the best of ten rounds. The configuration binding is as large as the
// bench's (the string the isolate's configuration source is looked up by).
// Run: npx esbuild scripts/bench/micro/request-context-micro.ts --bundle --format=esm --platform=neutral \
//   --outfile=.bench/request-context-micro.js --external:cloudflare:* --main-fields=module,main
// then node_modules/@cloudflare/workerd-linux-64/bin/workerd serve scripts/bench/micro/request-context.capnp and
// curl http://127.0.0.1:18913/ (each request runs every case once more).
import { Hono } from 'hono';
import { configSource } from '../../../src/control-plane/config-source.ts';
import type { Env } from '../../../src/env.ts';
import { noteIsolateStart } from '../../../src/observability/isolate-uptime.ts';
import { traceContextFrom } from '../../../src/observability/trace-context.ts';
import { normalizePath } from '../../../src/routing/normalize-path.ts';
import { rawPathOf } from '../../../src/routing/request-url.ts';
import { isSupportedMethod, isValidHost } from '../../../src/routing/request-target.ts';
import { noteIsolatePlace } from '../../../src/state/clients/tier.ts';
import { enterRequestContext } from '../../../src/middleware/request-context.ts';
import { checkEdgeHygiene } from '../../../src/policies/edge-hygiene.ts';
import type { AppEnv } from '../../../src/env.ts';

// The edge layer's steps (src/app.ts) alone in front of a handler, against the same app with a middleware that
// only calls next().
const noWaitUntil = () => {};
const withContext = new Hono<AppEnv>().use(function context(c, next) {
  const loading = enterRequestContext(c, noWaitUntil);
  return loading ? loading.then(next) : next();
}).all('*', (c) => c.body(null, 204));
const withHygiene = new Hono<AppEnv>().use(function contextAndHygiene(c, next) {
  const loading = enterRequestContext(c, noWaitUntil);
  if (loading) return loading.then(() => { checkEdgeHygiene(c); return next(); });
  checkEdgeHygiene(c);
  return next();
}).all('*', (c) => c.body(null, 204));
const withNothingSync = new Hono<AppEnv>().use(function nothing(_c, next) { return next(); }).all('*', (c) => c.body(null, 204));
const withNothing = new Hono<AppEnv>().use(async function nothing(_c, next) { await next(); }).all('*', (c) => c.body(null, 204));

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const out: Record<string, number> = {};
    const time = (name: string, n: number, fn: () => unknown) => {
      const start = performance.now();
      for (let i = 0; i < n; i++) fn();
      const us = ((performance.now() - start) * 1000) / n;
      out[name] = Math.min(out[name] ?? Infinity, +us.toFixed(3));
    };
    // The bench's request as the gateway sees it.
    const client = new Request('http://127.0.0.1:8787/bench/items/42', {
      headers: { host: '127.0.0.1:8787', authorization: 'Bearer x.y.z', 'user-agent': 'wrk', accept: '*/*' },
    });
    const { headers, url, method } = client;
    const timeAsync = async (name: string, n: number, fn: () => Promise<unknown>) => {
      const start = performance.now();
      for (let i = 0; i < n; i++) await fn();
      const us = ((performance.now() - start) * 1000) / n;
      out[name] = Math.min(out[name] ?? Infinity, +us.toFixed(3));
    };
    const appRequest = () => new Request(client.url, { headers: client.headers });
    for (let round = 0; round < 10; round++) {
      await timeAsync('app: noop middleware + handler', 5_000, async () => withNothing.fetch(appRequest(), env, ctx));
      await timeAsync('app: noop middleware returning next() + handler', 5_000, async () => withNothingSync.fetch(appRequest(), env, ctx));
      await timeAsync('app: requestContext + handler', 5_000, async () => withContext.fetch(appRequest(), env, ctx));
      await timeAsync('app: requestContext + edgeHygiene + handler', 5_000, async () => withHygiene.fetch(appRequest(), env, ctx));
      time('incoming request.cf read', 20_000, () => (request as Request & { cf?: unknown }).cf);
      time('noteIsolateStart(Date.now())', 20_000, () => noteIsolateStart(Date.now()));
      time('noteIsolatePlace(cf)', 20_000, () => noteIsolatePlace(undefined));
      time('traceContextFrom (no client ids)', 20_000, () => traceContextFrom(headers));
      time('method + host checks', 20_000, () => isSupportedMethod(method) && isValidHost(headers.get('host')!));
      time('env.GATEWAY_CONFIG read', 20_000, () => env.GATEWAY_CONFIG);
      time('configSource(env) lookup', 20_000, () => configSource(env));
      time('rawPathOf + normalizePath', 20_000, () => normalizePath(rawPathOf(url)));
      time('escaped-slash regex', 20_000, () => /%2f|%5c/i.test(rawPathOf(url)));
      time('request.url read', 20_000, () => request.url);
      time('request.headers read', 20_000, () => request.headers);
    }
    out['env identical across requests'] = Number(env === lastEnv);
    out['GATEWAY_CONFIG length'] = env.GATEWAY_CONFIG?.length ?? 0;
    lastEnv = env;
    return Response.json(out);
  },
};
let lastEnv: unknown;
