import { describe, expect, it } from 'vitest';
import { negotiateLocale } from '../../src/errors/messages.ts';
import { GatewayError, problemResponse } from '../../src/errors/problem.ts';

describe('negotiateLocale', () => {
  it.each([
    [null, 'en'],
    ['hi', 'hi'],
    ['hi-IN,en;q=0.8', 'hi'],
    ['fr-FR, es;q=0.7, en;q=0.5', 'es'],
    ['en;q=0.2, hi;q=0.9', 'hi'],
    ['de, fr', 'en'],
    ['es;q=0', 'en'],
    ['*', 'en'],
  ])('%s → %s', (header, expected) => {
    expect(negotiateLocale(header)).toBe(expected);
  });
});

describe('problemResponse', () => {
  it('renders RFC 9457 problem+json with a stable type and the request id', async () => {
    const response = problemResponse(new GatewayError('upstream-timeout', { service: 'rag', timeoutMs: 500 }), {
      requestId: 'req-1',
      acceptLanguage: null,
    });
    expect(response.status).toBe(504);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await response.json()).toEqual({
      type: 'urn:edge-gateway:problem:upstream-timeout',
      title: 'Service timed out',
      status: 504,
      detail: 'The service "rag" did not answer within 500 ms.',
      requestId: 'req-1',
    });
  });

  it.each([
    ['hi', 'सेवा "rag" ने 500 मि.से. के भीतर उत्तर नहीं दिया।'],
    ['es-MX', 'El servicio «rag» no respondió en 500 ms.'],
  ])('localises the detail for Accept-Language %s', async (acceptLanguage, detail) => {
    const response = problemResponse(new GatewayError('upstream-timeout', { service: 'rag', timeoutMs: 500 }), {
      requestId: 'r',
      acceptLanguage,
    });
    const body = (await response.json()) as { detail: string; type: string };
    expect(body.detail).toBe(detail);
    expect(body.type).toBe('urn:edge-gateway:problem:upstream-timeout');
    expect(response.headers.get('content-language')).toBe(acceptLanguage.slice(0, 2));
    expect(response.headers.get('vary')).toBe('Accept-Language');
  });
});
