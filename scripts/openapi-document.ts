/**
 * @module Writes public/docs/admin-api.openapi.json, the admin API's OpenAPI document, from the route definitions
 * (src/build/openapi-document.ts). The Worker serves that file at /openapi.json instead of generating it at start-up.
 * `npm test` fails when the file is out of date (test/admin/openapi-document.test.ts): run `npm run openapi`.
 *
 * The route modules are TypeScript that imports JSON without import attributes (as wrangler bundles it), which
 * Node does not load as is, so they are bundled with esbuild first and the bundle is run here.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const bundle = await build({
  entryPoints: [fileURLToPath(new URL('../src/build/openapi-document.ts', import.meta.url))],
  bundle: true,
  platform: 'node',
  format: 'esm',
  write: false,
  // Only types come from the Workers runtime on this path; a value import would fail here, loudly.
  external: ['cloudflare:*'],
  logLevel: 'warning',
});
const { openApiDocumentText } = (await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0]!.text).toString('base64')}`)) as {
  openApiDocumentText: () => string;
};
const target = new URL('../public/docs/admin-api.openapi.json', import.meta.url);
writeFileSync(target, openApiDocumentText());
console.log(`wrote ${fileURLToPath(target)}`);
