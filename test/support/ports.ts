/** Port helpers for tests that run in Node. */
import { freePort } from '../../scripts/free-port.ts';

export { freePort };

/** The URL of a port nothing listens on, so a connection to it is refused. */
export async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}
