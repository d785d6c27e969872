/**
 * @module Bench reference: Hono routing a catch-all to the origin and forwarding the raw request, what Hono's
 * dispatch alone costs (as ../shared/perf-anchors/hono-bare.js). Built by the bench from the project's `hono`.
 */
import { Hono } from 'hono';

type Bindings = { ORIGIN: string };

const app = new Hono<{ Bindings: Bindings }>();
app.all('*', (c) => {
  const url = new URL(c.req.url);
  return fetch(new Request(c.env.ORIGIN + url.pathname + url.search, c.req.raw));
});

export default app;
