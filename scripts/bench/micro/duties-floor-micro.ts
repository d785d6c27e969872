/**
 * The duties floor (scripts/bench/duties-floor.ts) as an app-micro.ts target, so the gateway's own code can be
 * measured against it in the same micro-benchmark run: the floor's fetch, with the gateway's Durable Object classes
 * exported too, because the harness's workerd configuration is the gateway's.
 * Build: `npx esbuild scripts/bench/micro/duties-floor-micro.ts --bundle --format=esm --platform=neutral
 * --main-fields=module,main --external:cloudflare:workers --external:node:* --outfile=<dir>/index.js`.
 */
import floor from '../duties-floor.ts';

export * from '../../../src/index.ts';

const env = { ORIGIN: 'http://origin.invalid/api/v1' };

export default {
  fetch(request: Request): Promise<Response> {
    return floor.fetch(request, env);
  },
};
