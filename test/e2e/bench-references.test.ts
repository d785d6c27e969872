/**
 * The bench's reference Workers forward what the gateway's bench request asks for, so the ratios compare like with
 * like. Run with Miniflare (the right tool here: a single Worker script, Node-side, no wrangler project) in front
 * of a real local origin.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReference } from '../../scripts/bench/build-reference.ts';

// The package `miniflare` in devDependencies brings its own, older workerd (it knows dates up to 2026-08): the
// references use nothing newer. The bench itself runs them on wrangler's workerd.
const COMPATIBILITY_DATE = '2026-08-01';

let origin: Server;
let originUrl: string;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const dir = mkdtempSync(join(tmpdir(), 'bench-references-'));

beforeAll(async () => {
  origin = createServer((request, response) => {
    seen.push({ url: request.url!, headers: request.headers });
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as { port: number }).port}/api/v1`;
});

afterAll(async () => {
  await new Promise((resolve) => origin.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe.each(['passthrough', 'hono-bare', 'hono-proxy', 'duties-floor'] as const)('bench reference %s', (name) => {
  let mf: Miniflare;

  beforeAll(async () => {
    const outfile = join(dir, `${name}.js`);
    await buildReference(name, outfile);
    mf = new Miniflare({ modules: true, script: readFileSync(outfile, 'utf8'), compatibilityDate: COMPATIBILITY_DATE, bindings: { ORIGIN: originUrl } });
  });

  afterAll(() => mf.dispose());

  it('forwards the path and query to the origin and returns its answer', async () => {
    seen.length = 0;
    const response = await mf.dispatchFetch('http://gateway.test/bench/items/42?view=full', { headers: { 'x-request-id': 'bench-1' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(seen.map((request) => request.url)).toEqual(['/api/v1/bench/items/42?view=full']);
    // The Hono proxy reference is the one with a request-id middleware, as in ../shared/perf-anchors.
    if (name === 'hono-proxy') expect(response.headers.get('x-request-id')).toBe('bench-1');
    // The duties floor puts on the wire what the gateway does for the bench's service (src/proxy/headers.ts,
    // the rate limit, the recording point, the security headers), so its cost is those duties' cost.
    if (name === 'duties-floor') {
      const upstream = seen[0]!.headers;
      for (const header of ['x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id', 'traceparent', 'x-consumer-id', 'x-user-id', 'via']) {
        expect(upstream[header], header).toBeTruthy();
      }
      expect(upstream.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      for (const header of ['x-request-id', 'traceparent', 'ratelimit', 'ratelimit-policy', 'server-timing', 'x-content-type-options', 'x-frame-options', 'referrer-policy']) {
        expect(response.headers.get(header), header).toBeTruthy();
      }
      expect(response.headers.get('x-request-id')).toBe(upstream['x-request-id']);
    }
  });
});
