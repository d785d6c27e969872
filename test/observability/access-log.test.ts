import { describe, expect, inject, it, vi } from 'vitest';
import { accessLogLine } from '../../src/observability/access-log.ts';
import type { RequestRecord } from '../../src/observability/request-record.ts';
import { send } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');

const record: RequestRecord = {
  service: 'orders', routeId: 'orders', method: 'GET', status: 200, outcome: 'ok', instance: 'orders-1', colo: 'local',
  latencyMs: 12, upstreamMs: 9, bytesIn: 0, bytesOut: 42, requestId: 'req-1', traceId: 'a'.repeat(32), attempts: 1,
};

describe('access log', () => {
  it('writes the documented fields for a request', () => {
    expect(JSON.parse(accessLogLine(record, { level: 'info', sampleRate: 1 }, 0.5)!)).toEqual({
      type: 'access', level: 'info', requestId: 'req-1', traceId: 'a'.repeat(32), service: 'orders', route: 'orders', method: 'GET',
      status: 200, outcome: 'ok', instance: 'orders-1', attempts: 1, latencyMs: 12, upstreamMs: 9, bytesIn: 0, bytesOut: 42, colo: 'local', sampleRate: 1,
    });
  });

  it('samples ok requests only, and leaves out levels below the configured one', () => {
    const settings = { level: 'info' as const, sampleRate: 0.1 };
    expect(accessLogLine(record, settings, 0.05)).toBeDefined();
    expect(accessLogLine(record, settings, 0.5)).toBeUndefined();
    const failed = { ...record, status: 502, outcome: 'upstream-error' };
    expect(accessLogLine(failed, settings, 0.99)).toBeDefined();
    expect(accessLogLine({ ...record, status: 429, outcome: 'rate-limited' }, { level: 'error', sampleRate: 1 }, 0)).toBeUndefined();
    expect(accessLogLine(failed, { level: 'off', sampleRate: 1 }, 0)).toBeUndefined();
  });

  it('logs one line per proxied request through the gateway (at sampleRate 1), without path, query, token or cookie', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const response = await send(
        { gateway: { observability: { accessLog: { sampleRate: 1 } } }, services: [{ name: 'logged', routes: [{ pathPrefix: '/logged' }], instances: [{ url: echo! }] }] },
        '/logged/secret-path?api_key=query-secret',
        { headers: { authorization: 'Bearer token-secret', cookie: 'session=cookie-secret', 'x-request-id': 'log-test-1' } },
      );
      expect(response.status).toBe(200);
      const lines = log.mock.calls.map(([line]) => String(line)).filter((line) => line.includes('"type":"access"'));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ requestId: 'log-test-1', service: 'logged', status: 200, outcome: 'ok' });
      expect(lines[0]).not.toMatch(/secret/);
    } finally {
      log.mockRestore();
    }
  });
});
