/**
 * Key servers and introspection endpoints that answer too much: the answer is given up as soon as it passes its
 * bound (256 KiB for a key set, 64 KiB for an introspection answer), not read whole or until the timeout.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it } from 'vitest';
import { IntrospectionEndpointSchema } from '../../../src/config/schema.ts';
import type { Env } from '../../../src/env.ts';
import { IntrospectionUnavailable, Introspector } from '../../../src/policies/auth/introspection.ts';
import { JwksCache, KeyServerUnavailable } from '../../../src/policies/auth/jwks-cache.ts';

const CHUNK = new TextEncoder().encode(' '.repeat(64 * 1024)); // JSON whitespace: the text never ends

/**
 * A fetch whose answer is `{"keys":[` followed by whitespace forever, without Content-Length, one 64 KiB chunk per
 * millisecond until the caller cancels the body or its signal aborts. `sent()` tells how much it handed out.
 */
function endlessAnswer(): { fetcher: typeof fetch; sent: () => number } {
  let sent = 0;
  const fetcher = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    const signal = init?.signal;
    let first = true;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (signal?.aborted) return controller.error(signal.reason);
        const chunk = first ? new TextEncoder().encode('{"keys":[') : CHUNK;
        first = false;
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { fetcher, sent: () => sent };
}

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

// Regression: both read the whole body (response.text()) and only then compared its length with the bound.
describe('answers larger than their bound', () => {
  it('gives up an endless key set once it passes 256 KiB, long before the timeout', async () => {
    const { fetcher, sent } = endlessAnswer();
    const source = { url: 'https://keys.test/jwks', cacheMaxAgeMs: 600_000, cooldownMs: 30_000, staleIfErrorMs: 0, timeoutMs: 2_000 };
    const started = Date.now();
    await expect(new JwksCache(fetcher).key(source, { alg: 'RS256', kid: 'k1' }, Date.now())).rejects.toBeInstanceOf(KeyServerUnavailable);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sent()).toBeLessThan(512 * 1024);
  });

  it('gives up an endless introspection answer once it passes 64 KiB, long before the timeout', async () => {
    const { fetcher, sent } = endlessAnswer();
    globalThis.fetch = fetcher;
    const config = IntrospectionEndpointSchema.parse({ name: 'authsvc', url: 'https://auth.test/introspect', clientId: 'gateway', timeoutMs: 2_000 });
    const environment = { ...env, INTROSPECTION_CLIENT_SECRET: 'secret' } as Env;
    const started = Date.now();
    await expect(new Introspector(config).introspect('opaque', environment)).rejects.toBeInstanceOf(IntrospectionUnavailable);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(sent()).toBeLessThan(256 * 1024);
  });
});
