import { describe, expect, inject, it } from 'vitest';
import { figuresOf, probeInstance } from '../../src/health/probe.ts';

const scripted = inject('scriptedOrigin');
const closed = inject('closedOrigin');
const [echo] = inject('echoOrigins');
const plan = { path: '/api/v1/health', timeoutMs: 1_000, expectedBody: null, figures: ['cpu', 'memory', 'disk'] };

async function setAnswer(path: string, status: number, body?: string): Promise<void> {
  await fetch(`${scripted}/__set?path=${encodeURIComponent(path)}&status=${status}${body ? `&body=${encodeURIComponent(body)}` : ''}`);
}

describe('probeInstance', () => {
  it('passes on a 2xx from a real origin and measures its latency', async () => {
    const result = await probeInstance({ id: 'echo', url: echo! }, plan);
    expect(result).toMatchObject({ instance: 'echo', ok: true, status: 200, error: null });
    expect(result.latencyMs).toBeGreaterThan(0);
  });

  it('fails on a 5xx, on a refused connection and on a timeout', async () => {
    await setAnswer('/probe-5xx/api/v1/health', 503);
    expect(await probeInstance({ id: 'a', url: `${scripted}/probe-5xx` }, plan)).toMatchObject({ ok: false, status: 503, error: 'status 503' });
    expect(await probeInstance({ id: 'b', url: closed }, plan)).toMatchObject({ ok: false, status: null, error: 'connection failed' });
    const slow = await probeInstance({ id: 'c', url: `${scripted}` }, { ...plan, path: '/slow', timeoutMs: 100 }, (url, init) => fetch(`${url}?status=200&delay=1000`, init));
    expect(slow).toMatchObject({ ok: false, status: null, error: 'no answer within 100 ms' });
  });

  it('fails a 2xx without the expected body, and keeps the JSON figures it asked for', async () => {
    await setAnswer('/probe-figures/api/v1/health', 200, JSON.stringify({ status: 'starting', cpu: 85.5, memory: 40, disk: 'full', other: 3 }));
    const result = await probeInstance({ id: 'a', url: `${scripted}/probe-figures` }, { ...plan, expectedBody: '"status":"ok"' });
    expect(result).toMatchObject({ ok: false, status: 200, error: 'expected body not found', figures: { cpu: 85.5, memory: 40 } });
  });

  it('reads figures at the top level or under "figures"/"metrics", numbers only', () => {
    expect(figuresOf('application/json', '{"metrics":{"cpu":12,"queue":7},"memory":"x"}', ['cpu', 'memory', 'queue'])).toEqual({ cpu: 12, queue: 7 });
    expect(figuresOf('text/plain', '{"cpu":12}', ['cpu'])).toEqual({});
    expect(figuresOf('application/json', 'not json', ['cpu'])).toEqual({});
  });
});
