/** Starts real servers in Node for the workerd tests, which cannot open sockets themselves. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startAuthServer } from './auth-server.ts';
import { startEchoOrigin } from '../../scripts/demo-origins.ts';
import { closedPortUrl } from './ports.ts';
import { startSentryStandIn, startSqlApiStandIn } from './stand-ins.ts';

/** Public key of the DSN the Sentry stand-in accepts. */
export const SENTRY_PUBLIC_KEY = 'sentrypublickeyfortests';

declare module 'vitest' {
  export interface ProvidedContext {
    echoOrigins: string[];
    /** A URL nothing listens on: connecting to it fails at once. */
    closedOrigin: string;
    /**
     * Answers every request with the status in its `?status=` (default 500) after `?delay=` ms, and counts the
     * requests per path; `GET /__count?path=/x` returns the count for /x. `GET /__set?path=/x&status=200&body=…`
     * makes /x answer that status (and body) from then on, whatever its query.
     */
    scriptedOrigin: string;
    /** Key server and introspection endpoint (test/support/auth-server.ts). */
    authServer: string;
    /** Sentry's envelope ingest endpoint (test/support/stand-ins.ts); a DSN for it, with SENTRY_PUBLIC_KEY. */
    sentryDsn: string;
    sentryStandIn: string;
    /** The Analytics Engine SQL API (test/support/stand-ins.ts), as a base like https://api.cloudflare.com/client/v4. */
    sqlApiStandIn: string;
    /**
     * Notification receiver: records every request (method, path, headers, body) and answers 500 on paths that
     * start with /fail, 200 otherwise; `GET /__received?path=/x` returns the requests to /x as JSON.
     */
    receiver: string;
  }
}

async function startScriptedOrigin(): Promise<Server> {
  const counts = new Map<string, number>();
  const scripted = new Map<string, { status: number; body: string | null }>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin.invalid');
    req.resume();
    if (url.pathname === '/__count') {
      res.end(String(counts.get(url.searchParams.get('path') ?? '') ?? 0));
      return;
    }
    if (url.pathname === '/__set') {
      // A path's own answer from now on (health-check tests flip an instance): /__set?path=/x&status=200&body=...
      scripted.set(url.searchParams.get('path') ?? '', { status: Number(url.searchParams.get('status') ?? 200), body: url.searchParams.get('body') });
      res.end('ok');
      return;
    }
    counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
    const script = scripted.get(url.pathname);
    if (script) {
      res.writeHead(script.status, { 'content-type': 'application/json' });
      res.end(script.body ?? JSON.stringify({ status: script.status, path: url.pathname }));
      return;
    }
    const status = Number(url.searchParams.get('status') ?? 500);
    setTimeout(() => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status, path: url.pathname }));
    }, Number(url.searchParams.get('delay') ?? 0));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

type Received = { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string };

async function startReceiver(): Promise<Server> {
  const received = new Map<string, Received[]>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    if (url.pathname === '/__received') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received.get(url.searchParams.get('path') ?? '') ?? []));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const list = received.get(url.pathname) ?? [];
      list.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body: Buffer.concat(chunks).toString() });
      received.set(url.pathname, list);
      res.writeHead(url.pathname.startsWith('/fail') ? 500 : 200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export default async function setup(project: TestProject) {
  const origins = await Promise.all(
    ['echo-1', 'echo-2', 'echo-3'].map((instance) => startEchoOrigin({ service: 'echo', instance })),
  );
  const scripted = await startScriptedOrigin();
  const authServer = await startAuthServer();
  const receiver = await startReceiver();
  project.provide('receiver', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
  project.provide('echoOrigins', origins.map((origin) => origin.url));
  project.provide('closedOrigin', await closedPortUrl());
  project.provide('scriptedOrigin', `http://127.0.0.1:${(scripted.address() as AddressInfo).port}`);
  project.provide('authServer', authServer.url);
  const [sentry, sqlApi] = await Promise.all([startSentryStandIn(SENTRY_PUBLIC_KEY), startSqlApiStandIn()]);
  project.provide('sentryStandIn', sentry.url);
  project.provide('sentryDsn', `${sentry.url.replace('http://', `http://${SENTRY_PUBLIC_KEY}@`)}/42`);
  project.provide('sqlApiStandIn', `${sqlApi.url}/client/v4`);
  return async () => {
    await Promise.all([sentry.close(), sqlApi.close()]);
    scripted.closeAllConnections();
    await Promise.all([...origins.map((origin) => origin.close()), new Promise((resolve) => scripted.close(resolve)), new Promise((resolve) => receiver.close(resolve)), authServer.close()]);
  };
}
