/** @module A free TCP port on 127.0.0.1, for scripts and tests that start servers. */
import { createServer } from 'node:net';

/** A port nothing listens on right now, released before it is returned. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
