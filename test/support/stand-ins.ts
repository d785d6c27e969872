/**
 * Local servers that speak the protocols of services the tests cannot reach: Sentry's envelope ingest endpoint
 * and the Workers Analytics Engine SQL API. Each records what it received; `GET /__received` returns it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandIn {
  url: string;
  close(): Promise<void>;
}

/** The token the SQL stand-in accepts, and the account id in its path. */
export const SQL_API_TOKEN = 'analytics-read-token-for-tests';
export const SQL_API_ACCOUNT = '0123456789abcdef0123456789abcdef';

async function listen(server: Server): Promise<StandIn> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

/**
 * Sentry ingest: `POST /api/<project>/envelope/` with the DSN's public key in `X-Sentry-Auth` or `sentry_key`.
 * Answers 200 `{ id }` as Sentry does; envelopes with a wrong key get 401 and are not recorded.
 */
export async function startSentryStandIn(publicKey: string): Promise<StandIn> {
  const received: { path: string; auth: string; body: string }[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
    const body = await readBody(req);
    if (req.method === 'GET' && url.pathname === '/__received') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received));
      return;
    }
    const auth = String(req.headers['x-sentry-auth'] ?? '') + (url.searchParams.get('sentry_key') ? ` sentry_key=${url.searchParams.get('sentry_key')}` : '');
    if (req.method !== 'POST' || !/^\/api\/\d+\/envelope\/$/.test(url.pathname) || !auth.includes(`sentry_key=${publicKey}`)) {
      res.writeHead(401).end();
      return;
    }
    received.push({ path: url.pathname, auth, body });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: body.slice(0, 64) }));
  });
  return listen(server);
}

/**
 * The Analytics Engine SQL API: `POST /client/v4/accounts/<id>/analytics_engine/sql`, bearer token, SQL text in
 * the body, JSON out (`meta`, `data`, `rows`), 64-bit integers as strings as ClickHouse writes them. It answers
 * the gateway's per-minute query with fixed rows for the service "history": 120 requests (6 errors, 3 refused by
 * a rate limit) two minutes ago and 60 requests one minute ago.
 */
export async function startSqlApiStandIn(): Promise<StandIn> {
  const received: { path: string; body: string }[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
    const body = await readBody(req);
    if (req.method === 'GET' && url.pathname === '/__received') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received));
      return;
    }
    if (req.method !== 'POST' || url.pathname !== `/client/v4/accounts/${SQL_API_ACCOUNT}/analytics_engine/sql`) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ success: false, errors: [{ code: 7003, message: 'No route for that URI' }] }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${SQL_API_TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ success: false, errors: [{ code: 10000, message: 'Authentication error' }] }));
      return;
    }
    received.push({ path: url.pathname, body });
    if (!/SUM\(_sample_interval\)/.test(body) || !/FORMAT JSON\s*$/.test(body)) {
      res.writeHead(422, { 'content-type': 'text/plain' }).end('expected a sampled count and FORMAT JSON');
      return;
    }
    const minute = Math.floor(Date.now() / 60_000) * 60;
    const row = (at: number, requests: number, errors: number, limited: number, p50: number) => ({
      // The rate-limited requests are the gateway's own refusals: not timed.
      service: 'history', minute: String(at), requests: String(requests), errors: String(errors), timed_requests: String(requests - limited), rate_limited: String(limited),
      bytes_in: 1_000 * requests, bytes_out: 2_000 * requests, p50_ms: p50, p95_ms: p50 * 3, p99_ms: p50 * 5,
    });
    const data = [row(minute - 120, 120, 6, 3, 20), row(minute - 60, 60, 0, 0, 10), { ...row(minute - 60, 5, 0, 0, 1), service: 'not-configured' }];
    const meta = Object.keys(data[0]!).map((name) => ({ name, type: name === 'service' ? 'String' : 'UInt64' }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ meta, data, rows: data.length, rows_before_limit_at_least: data.length }));
  });
  return listen(server);
}
