/** Purpose-built origins for end-to-end tests: ones that hang, fail, count or stream on cue. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestOrigin {
  url: string;
  port: number;
  server: Server;
  /** Requests received so far, the gateway's health probes not included. */
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  /** The gateway's health probes received so far (user agent edge-gateway-health-check). */
  probes: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** How an origin answers the gateway's health probes unless told otherwise: healthy, at once. */
const healthy: Handler = (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
};

/**
 * An origin whose behaviour is `handler`; records every request it receives. The gateway's health probes are
 * answered by `onProbe` (healthy by default), so a test about something else never sees them. `port` brings an origin
 * back where a closed one listened (fault tests).
 */
export async function startOrigin(handler: Handler, options: { onProbe?: Handler; port?: number } = {}): Promise<TestOrigin> {
  const requests: TestOrigin['requests'] = [];
  const probes: TestOrigin['probes'] = [];
  const server = createServer((req, res) => {
    const isProbe = req.headers['user-agent'] === 'edge-gateway-health-check';
    (isProbe ? probes : requests).push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    (isProbe ? (options.onProbe ?? healthy) : handler)(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    probes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers `status` with a small JSON body naming `name`. */
export function answer(name: string, status = 200) {
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ origin: name, path: req.url }));
    });
  };
}
