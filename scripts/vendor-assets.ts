/**
 * @module Copies the browser code the gateway serves as static assets (Swagger UI for /docs, uPlot for /dashboard) from node_modules into
 * public/, where Workers static assets serve it. Run by `npm start`, before `npm run deploy`, and by the end-to-end
 * tests; the copies are not committed.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export function vendorAssets(): void {
  const swaggerUi = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const target = join(root, 'public/docs/vendor');
  mkdirSync(target, { recursive: true });
  for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css']) copyFileSync(join(swaggerUi, file), join(target, file));

  const uPlot = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  const dashboardTarget = join(root, 'public/dashboard/vendor');
  mkdirSync(dashboardTarget, { recursive: true });
  for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(uPlot, file), join(dashboardTarget, file));
}

if (import.meta.url === `file://${process.argv[1]}`) vendorAssets();
