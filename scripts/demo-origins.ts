/**
 * @module Demo origin services: small Node HTTP servers that answer a health check and echo every other request.
 * `npm start` runs one per instance of gateway.config.json; tests start them on ephemeral ports.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoOrigin {
  service: string;
  instance: string;
  port: number;
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** What an echo origin answers: the request as it arrived, so tests and users see what the gateway forwarded. */
export interface Echo {
  service: string;
  instance: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
}

/** Starts an echo origin on 127.0.0.1; `port: 0` picks a free port. */
export async function startEchoOrigin(options: { service: string; instance: string; port?: number; host?: string }): Promise<EchoOrigin> {
  const { service, instance } = options;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://origin.invalid');
    if (request.method === 'GET' && url.pathname === '/api/v1/health') {
      request.resume();
      sendJson(response, 200, { status: 'ok', service, instance });
      return;
    }
    countBody(request).then(
      (bodyBytes) => {
        const echo: Echo = {
          service,
          instance,
          method: request.method ?? 'GET',
          path: url.pathname,
          query: queryObject(url.searchParams),
          headers: request.headers,
          bodyBytes,
        };
        sendJson(response, 200, echo, request.method === 'HEAD');
      },
      () => response.destroy(),
    );
  });
  // Keep-alive longer than the gateway's pool so connections are not closed under it mid-reuse.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    service,
    instance,
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads the body as it streams in, counting bytes without holding them. */
function countBody(request: IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => resolve(bytes));
    request.on('error', reject);
  });
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  return query;
}

function sendJson(response: import('node:http').ServerResponse, status: number, body: unknown, headOnly = false): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(headOnly ? undefined : text);
}

// `npm run origin -- --service samples --instance samples-3 --port 8090`: one more demo origin, to register.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({ options: { service: { type: 'string', default: 'demo' }, instance: { type: 'string' }, port: { type: 'string', default: '8090' } } });
  const origin = await startEchoOrigin({ service: values.service!, instance: values.instance ?? `${values.service}-${values.port}`, port: Number(values.port) });
  console.log(`${origin.instance} (${origin.service}) listening on ${origin.url}`);
  process.on('SIGINT', () => void origin.close().then(() => process.exit(0)));
  process.on('SIGTERM', () => void origin.close().then(() => process.exit(0)));
}
