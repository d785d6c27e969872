/**
 * @module Bench reference: an idiomatic minimal Hono gateway, its `hono/proxy` helper and one middleware that sets
 * `X-Request-Id` (as ../shared/perf-anchors/hono-proxy.js). The target: the gateway, with far more on, must
 * not be slower than this.
 */
import { Hono } from 'hono';
import { proxy } from 'hono/proxy';

type Bindings = { ORIGIN: string };

const app = new Hono<{ Bindings: Bindings }>();
app.use(async (c, next) => {
  const id = c.req.header('x-request-id') ?? crypto.randomUUID();
  await next();
  c.res.headers.set('x-request-id', id);
});
app.all('*', (c) => {
  const url = new URL(c.req.url);
  return proxy(`${c.env.ORIGIN}${url.pathname}${url.search}`, {
    ...c.req,
    headers: { ...c.req.header(), 'x-forwarded-for': '127.0.0.1', host: undefined },
  });
});

export default app;
