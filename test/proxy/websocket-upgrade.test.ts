/**
 * A WebSocket handshake is a GET (RFC 6455 §4.1). workerd's fetch turns any request carrying `Upgrade: websocket`
 * into a GET handshake without a body, so a POST or DELETE with that header reached the origin as a GET: another
 * method than the one routed and authorized, and the body lost.
 */
import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { gatewayFor } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');

const config: GatewayConfigInput = {
  services: [{ name: 'echo', routes: [{ pathPrefix: '/echo' }], instances: [{ url: echo! }], retries: { attempts: 0 } }],
};
const send = gatewayFor(config);
const handshake = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };

describe('Upgrade: websocket on a method other than GET', () => {
  it.each(['POST', 'PUT', 'PATCH'])('forwards a %s as itself, with its body and without the Upgrade', async (method) => {
    const response = await send('/echo/x', { method, headers: { ...handshake, 'content-type': 'text/plain' }, body: 'abc' });
    expect(response.status).toBe(200);
    const echoed = (await response.json()) as Echo;
    expect(echoed.method).toBe(method);
    expect(echoed.bodyBytes).toBe(3);
    expect(echoed.headers.upgrade).toBeUndefined();
  });

  it('forwards a DELETE as a DELETE', async () => {
    const response = await send('/echo/x', { method: 'DELETE', headers: handshake });
    expect(((await response.json()) as Echo).method).toBe('DELETE');
  });

  it('still passes a GET handshake through with its Upgrade', async () => {
    const response = await send('/echo/x', { headers: handshake });
    // The echo origin does not speak WebSocket: it answers the handshake as a plain GET.
    const echoed = (await response.json()) as Echo;
    expect(echoed.method).toBe('GET');
    expect(echoed.headers.upgrade).toBe('websocket');
  });
});
