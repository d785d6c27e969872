/** /openapi.json reads the built document from the static assets once per isolate; a failed read is not kept. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import bundledConfig from '../../gateway.config.json';
import { problemType, send } from '../support/gateway.ts';

describe('/openapi.json and its asset', () => {
  it('answers a 500 problem when the asset cannot be read, and serves the document once it can', async () => {
    let reads = 0;
    const missing = { fetch: async () => (reads++, new Response('not found', { status: 404 })) } as unknown as Fetcher;
    const failed = await send(bundledConfig as never, '/openapi.json', {}, { ASSETS: missing });
    expect(failed.status).toBe(500);
    expect(await problemType(failed)).toBe('internal-error');
    expect(await failed.text()).not.toContain('admin-api.openapi.json');
    expect(reads).toBe(1);

    const served = await send(bundledConfig as never, '/openapi.json', {}, { ASSETS: env.ASSETS });
    expect(served.status).toBe(200);
    expect(((await served.json()) as { openapi: string }).openapi).toBe('3.1.0');
    // Kept for the isolate's life: a later request does not read the asset again.
    expect((await send(bundledConfig as never, '/openapi.json', {}, { ASSETS: missing })).status).toBe(200);
    expect(reads).toBe(1);
  });
});
