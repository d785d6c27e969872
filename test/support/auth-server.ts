/**
 * A real key server (JWKS) and a real RFC 7662 introspection endpoint, in Node, for the tests. Tests steer it over
 * HTTP, so workerd tests (which cannot open sockets) can use it through a vitest globalSetup too. Every test works
 * in its own namespace (`/<ns>/…`), so test files running at the same time never see each other's keys or tokens.
 *
 * - `GET  /<ns>/jwks`                  the namespace's key set, or its configured failure
 * - `GET  /<ns>/cdn-cgi/access/certs`  the same, where Cloudflare Access publishes a team's keys
 * - `POST /<ns>/introspect`            RFC 7662, HTTP Basic `gateway:introspection-secret`
 * - `POST /<ns>/control`               `{ keys?, jwks?: 'up' | 'error' | 'invalid' | 'hang', tokens?, introspection?: 'up' | 'error' }`
 * - `GET  /<ns>/stats`                 `{ jwksRequests, introspectRequests }`
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const INTROSPECTION_CLIENT_ID = 'gateway';
export const INTROSPECTION_CLIENT_SECRET = 'introspection-secret';

interface Namespace {
  keys: unknown[];
  jwks: 'up' | 'error' | 'invalid' | 'hang';
  tokens: Record<string, Record<string, unknown>>;
  introspection: 'up' | 'error';
  jwksRequests: number;
  introspectRequests: number;
}

export interface AuthServer {
  url: string;
  close(): Promise<void>;
}

export async function startAuthServer(): Promise<AuthServer> {
  const namespaces = new Map<string, Namespace>();
  const sockets = new Set<Socket>();
  const namespace = (name: string): Namespace => {
    let ns = namespaces.get(name);
    if (!ns) {
      ns = { keys: [], jwks: 'up', tokens: {}, introspection: 'up', jwksRequests: 0, introspectRequests: 0 };
      namespaces.set(name, ns);
    }
    return ns;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const [, name = '', action = '', ...rest] = (req.url ?? '/').split('?')[0]!.split('/');
      const ns = namespace(name);
      const accessCerts = action === 'cdn-cgi' && rest.join('/') === 'access/certs';
      if (req.method === 'GET' && (action === 'jwks' || accessCerts)) {
        ns.jwksRequests++;
        if (ns.jwks === 'hang') return; // never answers: the client's timeout must end it
        if (ns.jwks === 'error') return send(res, 500, { error: 'down' });
        if (ns.jwks === 'invalid') return send(res, 200, { not: 'a key set' });
        return send(res, 200, { keys: ns.keys });
      }
      if (req.method === 'POST' && action === 'introspect') {
        ns.introspectRequests++;
        if (ns.introspection === 'error') return send(res, 503, { error: 'down' });
        const expected = `Basic ${Buffer.from(`${INTROSPECTION_CLIENT_ID}:${INTROSPECTION_CLIENT_SECRET}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return send(res, 401, { error: 'invalid_client' });
        const token = new URLSearchParams(body).get('token') ?? '';
        return send(res, 200, ns.tokens[token] ?? { active: false });
      }
      if (req.method === 'POST' && action === 'control') {
        const update = JSON.parse(body || '{}') as Partial<Namespace>;
        Object.assign(ns, update);
        return send(res, 204, undefined);
      }
      if (req.method === 'GET' && action === 'stats') {
        return send(res, 200, { jwksRequests: ns.jwksRequests, introspectRequests: ns.introspectRequests });
      }
      send(res, 404, { error: 'not found' });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Client side of the control API; works from Node and from workerd. */
export class AuthServerNamespace {
  readonly base: string;

  constructor(serverUrl: string, name: string) {
    this.base = `${serverUrl}/${name}`;
  }

  get jwksUrl(): string {
    return `${this.base}/jwks`;
  }

  get introspectionUrl(): string {
    return `${this.base}/introspect`;
  }

  async control(update: Record<string, unknown>): Promise<void> {
    const response = await fetch(`${this.base}/control`, { method: 'POST', body: JSON.stringify(update) });
    await response.arrayBuffer();
  }

  async stats(): Promise<{ jwksRequests: number; introspectRequests: number }> {
    return (await (await fetch(`${this.base}/stats`)).json()) as { jwksRequests: number; introspectRequests: number };
  }
}
