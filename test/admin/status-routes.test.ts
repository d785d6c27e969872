import { describe, expect, inject, it } from 'vitest';
import { asAdmin, send } from '../support/gateway.ts';
import { registryConfig, registryVersion } from '../support/admin-api.ts';

const [echo1, echo2] = inject('echoOrigins');

const config = registryConfig(echo1!, echo2!);

describe('GET /gateway/status', () => {
  it('reports versions, counts and that the registry and state plane answer', async () => {
    const status = (await (await send(config, '/gateway/status', asAdmin())).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      version: '0.1.0',
      configVersion: await registryVersion(config),
      registry: { reachable: true, lastError: null, skippedChanges: [] },
      statePlane: { reachable: true },
    });
    expect((status.counts as { services: number }).services).toBeGreaterThanOrEqual(2);
  });

  // Issue 9: the isolate's start was never noted, so uptime was counted from 1970 (about 1.7 billion seconds).
  it('reports the uptime since this isolate served its first request, not since 1970', async () => {
    await send(config, '/gateway/health');
    const status = (await (await send(config, '/gateway/status', asAdmin())).json()) as { uptimeSeconds: number };
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
    // The test run has been going for minutes at most; a day is a generous bound that 1970 cannot meet.
    expect(status.uptimeSeconds).toBeLessThan(86_400);
  });
});

describe('GET /gateway/health', () => {
  it('answers 200 with the configuration version', async () => {
    const response = await send(config, '/gateway/health', asAdmin());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', configVersion: await registryVersion(config) });
  });
});
