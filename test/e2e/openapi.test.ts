import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo-origins.ts';
import { rawRequest, ROOT, startGateway, type RunningGateway } from './harness.ts';

let gateway: RunningGateway;
let origin: EchoOrigin;

beforeAll(async () => {
  origin = await startEchoOrigin({ service: 'samples', instance: 'samples-1' });
  gateway = await startGateway({ services: [{ name: 'samples', routes: [{ pathPrefix: '/samples' }], instances: [{ url: origin.url }] }] });
});

afterAll(async () => {
  await gateway?.stop();
  await origin?.close();
});

describe('the admin API description', () => {
  it('passes the Redocly linter with neither errors nor warnings', async () => {
    const response = await rawRequest(gateway.url, '/openapi.json');
    expect(response.status).toBe(200);
    const file = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.json');
    writeFileSync(file, response.body);
    const lint = spawnSync(process.execPath, [join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--format', 'summary'], {
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const output = `${lint.stdout}${lint.stderr}`;
    expect(lint.status, output).toBe(0);
    expect(output).toContain('Your API description is valid');
    expect(output).not.toMatch(/warning/i);
  });

  it('is rendered as an interactive reference at /docs', async () => {
    const page = await rawRequest(gateway.url, '/docs/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('swagger-ui-bundle.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await rawRequest(gateway.url, '/docs/vendor/swagger-ui-bundle.js')).status).toBe(200);
    expect((await rawRequest(gateway.url, '/docs/reference.js')).body).toContain("url: '/openapi.json'");
  });
});
