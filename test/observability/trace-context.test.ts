import { describe, expect, it } from 'vitest';
import { traceContextFrom } from '../../src/observability/trace-context.ts';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe('traceContextFrom', () => {
  it('keeps a sane client request id', () => {
    expect(traceContextFrom(new Headers({ 'x-request-id': 'abc-123' })).requestId).toBe('abc-123');
  });

  it.each(['', 'a b', 'x'.repeat(201), 'é'])('replaces the request id %j with a UUID', (value) => {
    const { requestId } = traceContextFrom(new Headers({ 'x-request-id': value }));
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('continues a valid traceparent with a new span for the gateway hop', () => {
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const context = traceContextFrom(new Headers({ traceparent: incoming }));
    expect(context.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(context.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(context.spanId).not.toBe('00f067aa0ba902b7');
  });

  it.each([
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    'garbage',
  ])('starts a new trace for the invalid traceparent %s', (value) => {
    const context = traceContextFrom(new Headers({ traceparent: value }));
    expect(context.traceparent).toMatch(TRACEPARENT);
    expect(value).not.toContain(context.traceId);
  });
});

describe('random ids', () => {
  it('makes version 4 UUIDs, all distinct, across pool refills', async () => {
    const { randomUuid } = await import('../../src/observability/random-ids.ts');
    const ids = Array.from({ length: 1000 }, () => randomUuid());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(1000);
  });

  it('makes hex ids of the asked length, all distinct', async () => {
    const { randomHex } = await import('../../src/observability/random-ids.ts');
    const ids = Array.from({ length: 1000 }, () => randomHex(8));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(1000);
  });
});
