/** Edge hygiene: allowed hosts, header size and characters, CR/LF in the path, body limit. */
import { describe, expect, inject, it } from 'vitest';
import type { Echo } from '../../scripts/demo-origins.ts';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { gatewayFor, problemType } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');

const config: GatewayConfigInput = {
  gateway: {
    allowedHosts: ['api.example.com', '*.tenant.example.com'],
    limits: { maxBodyBytes: 1024, maxHeaderBytes: 2048 },
  },
  services: [{ name: 'echo', routes: [{ pathPrefix: '/echo' }], instances: [{ url: echo! }], retries: { methods: ['GET', 'POST'] } }],
};
const send = gatewayFor(config);
const base = 'https://api.example.com';

function streamOf(totalBytes: number, chunkBytes = 256): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      const size = Math.min(chunkBytes, totalBytes - sent);
      sent += size;
      controller.enqueue(new Uint8Array(size).fill(120));
    },
  });
}

describe('allowed hosts', () => {
  it('serves the listed host and subdomains of a wildcard', async () => {
    expect((await send('/echo/x', { base })).status).toBe(200);
    expect((await send('/echo/x', { base: 'https://eu.tenant.example.com' })).status).toBe(200);
    expect((await send('/echo/x', { base: 'https://API.EXAMPLE.COM:8443' })).status).toBe(200);
  });

  it('answers any other host with 421 host-not-allowed, before routing', async () => {
    for (const other of ['https://evil.example', 'https://tenant.example.com', 'https://api.example.com.evil.example', 'http://127.0.0.1']) {
      const response = await send('/echo/x', { base: other });
      expect(response.status, other).toBe(421);
      expect(await problemType(response)).toBe('host-not-allowed');
    }
  });

  it('serves any host when the list is empty', async () => {
    const open = gatewayFor({ services: config.services });
    expect((await open('/echo/x', { base: 'https://whatever.example' })).status).toBe(200);
  });
});

describe('headers', () => {
  it('answers 431 when names and values add up to more than maxHeaderBytes', async () => {
    const response = await send('/echo/x', { base, headers: { 'x-big': 'a'.repeat(2100) } });
    expect(response.status).toBe(431);
    expect(await problemType(response)).toBe('headers-too-large');
  });

  it('counts many small headers together', async () => {
    const headers = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, 'b'.repeat(50)]));
    expect((await send('/echo/x', { base, headers })).status).toBe(431);
  });

  it('accepts headers just under the limit', async () => {
    expect((await send('/echo/x', { base, headers: { 'x-big': 'a'.repeat(1500) } })).status).toBe(200);
  });

  it.each(['a\u0001b', 'a\u001fb', 'a\u007fb', 'a\u0008b'])('answers 400 invalid-header for a control character in a value (%j)', async (value) => {
    const response = await send('/echo/x', { base, headers: { 'x-test': value } });
    expect(response.status).toBe(400);
    expect(await problemType(response)).toBe('invalid-header');
  });

  it('accepts a horizontal tab inside a value', async () => {
    expect((await send('/echo/x', { base, headers: { 'x-test': 'a\tb' } })).status).toBe(200);
  });
});

describe('path', () => {
  it.each(['/echo/a%0d%0aSet-Cookie:%20x=1', '/echo/a%0Ab', '/echo/%0D'])('answers 400 invalid-path for encoded CR or LF (%s)', async (path) => {
    const response = await send(path, { base });
    expect(response.status).toBe(400);
    expect(await problemType(response)).toBe('invalid-path');
  });

  it('still answers 400 for an encoded NUL', async () => {
    expect((await send('/echo/a%00b', { base })).status).toBe(400);
  });
});

describe('body limit', () => {
  it('answers 413 at once when Content-Length is over the limit', async () => {
    const response = await send('/echo/x', { base, method: 'POST', body: 'x'.repeat(2000) });
    expect(response.status).toBe(413);
    expect(await problemType(response)).toBe('payload-too-large');
  });

  it('forwards a body within the limit', async () => {
    const response = await send('/echo/x', { base, method: 'POST', body: 'x'.repeat(1000) });
    expect(((await response.json()) as Echo).bodyBytes).toBe(1000);
  });

  it('counts a streamed body without Content-Length and answers 413 once it passes the limit', async () => {
    const response = await send('/echo/x', { base, method: 'POST', body: streamOf(4096) });
    expect(response.status).toBe(413);
    expect(await problemType(response)).toBe('payload-too-large');
  });

  it('forwards a streamed body within the limit', async () => {
    const response = await send('/echo/x', { base, method: 'POST', body: streamOf(1024) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Echo).bodyBytes).toBe(1024);
  });

  it('does not count an oversized streamed body against the origin: the next request is served', async () => {
    const single = gatewayFor({ ...config, services: [{ ...config.services[0]!, name: 'single', loadBalancing: { failureCooldownMs: 60_000 } }] });
    expect((await single('/echo/x', { base, method: 'POST', body: streamOf(4096) })).status).toBe(413);
    expect((await single('/echo/x', { base })).status).toBe(200);
  });
});

describe('client faults are the client\'s (issue #8)', () => {
  const strictConfig: GatewayConfigInput = {
    gateway: { limits: { maxBodyBytes: 1024, maxHeaderBytes: 2048, bodyIdleTimeoutMs: 200 } },
    services: [{ name: 'lone', routes: [{ pathPrefix: '/echo' }], instances: [{ url: echo! }], loadBalancing: { failureCooldownMs: 60_000 } }],
  };

  // GET and HEAD with a body cannot even be built inside workerd: test/e2e/hardening-workerd.test.ts sends them.

  it('answers a body that stalls 408 request-timeout after bodyIdleTimeoutMs, and the instance stays in rotation', async () => {
    const lone = gatewayFor(strictConfig);
    // Sends one chunk, then nothing, and never ends.
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10).fill(120));
      },
    });
    const started = Date.now();
    const response = await lone('/echo/x', { method: 'POST', body: stalled });
    expect(response.status).toBe(408);
    expect(await problemType(response)).toBe('request-timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect((await lone('/echo/x')).status).toBe(200);
  });
});

describe('forwarding loops (Via)', () => {
  it('sends the origin the client\'s Via with the gateway\'s entry after it', async () => {
    const response = await send('/echo/x', { base, headers: { via: '1.1 corp-proxy' } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Echo).headers.via).toBe('1.1 corp-proxy, 1.1 edge-gateway');
  });

  it('lets a request through once more, then answers 508 forwarding-loop before routing', async () => {
    expect((await send('/echo/x', { base, headers: { via: '1.1 edge-gateway' } })).status).toBe(200);
    // An unknown path too: the loop is refused before routing, so it never reaches a service's counts.
    for (const path of ['/echo/x', '/nowhere']) {
      const response = await send(path, { base, headers: { via: '1.1 edge-gateway, 1.1 corp-proxy (Squid/6.1), 1.1 edge-gateway' } });
      expect(response.status, path).toBe(508);
      expect(await problemType(response)).toBe('forwarding-loop');
    }
  });

  it('counts only entries received by its own pseudonym', async () => {
    // Names that contain the pseudonym, or carry it as a protocol or a comment, are someone else.
    const via = 'edge-gateway edge-gateway-eu, 1.1 my-edge-gateway, 1.1 other (edge-gateway), edge-gateway/2 proxy';
    expect((await send('/echo/x', { base, headers: { via } })).status).toBe(200);
  });

  it('follows gateway.via: its own pseudonym and maxPasses', async () => {
    const strict = gatewayFor({ ...config, gateway: { ...config.gateway, via: { pseudonym: 'gw-eu', maxPasses: 1 } } });
    const first = await strict('/echo/x', { base, headers: { via: '1.1 edge-gateway' } });
    expect(((await first.json()) as Echo).headers.via).toBe('1.1 edge-gateway, 1.1 gw-eu');
    const again = await strict('/echo/x', { base, headers: { via: '2 gw-eu' } });
    expect(again.status).toBe(508);
    expect(await problemType(again)).toBe('forwarding-loop');
  });
});
