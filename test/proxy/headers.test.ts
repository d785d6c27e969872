import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/env.ts';
import { traceContextFrom } from '../../src/observability/trace-context.ts';
import { identityForwarding } from '../../src/policies/auth/identity.ts';
import { headerSafe, prepareResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.ts';

const trace = traceContextFrom(new Headers());
const facts = { clientIp: '203.0.113.7', proto: 'https', host: 'api.example.com', trace, webSocket: false, via: '1.1 edge-gateway' };

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers and every header named in Connection', () => {
    const headers = upstreamRequestHeaders(
      new Headers({
        connection: 'keep-alive, X-Secret, x-other',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        trailer: 'x-checksum',
        'proxy-authorization': 'Basic abc',
        'proxy-connection': 'keep-alive',
        upgrade: 'h2c',
        'x-secret': '1',
        'x-other': '2',
        'x-kept': '3',
      }),
      facts,
    );
    for (const name of ['connection', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'upgrade', 'x-secret', 'x-other']) {
      expect(headers.has(name), name).toBe(false);
    }
    expect(headers.get('x-kept')).toBe('3');
  });

  it('replaces client claims about its address with the real connection', () => {
    const headers = upstreamRequestHeaders(
      new Headers({
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'http',
        'x-forwarded-port': '1',
        forwarded: 'for=10.0.0.1',
        'x-real-ip': '10.0.0.2',
        'true-client-ip': '10.0.0.3',
      }),
      facts,
    );
    expect(headers.get('x-forwarded-for')).toBe('203.0.113.7');
    expect(headers.get('x-forwarded-host')).toBe('api.example.com');
    expect(headers.get('x-forwarded-proto')).toBe('https');
    expect(headers.get('forwarded')).toBe('for=203.0.113.7;host=api.example.com;proto=https');
    expect(headers.has('x-forwarded-port')).toBe(false);
    expect(headers.has('x-real-ip')).toBe(false);
    expect(headers.has('true-client-ip')).toBe(false);
  });

  it('adds the gateway\'s Via entry (RFC 9110 §7.6.3) after those of the proxies before it', () => {
    expect(upstreamRequestHeaders(new Headers(), facts).get('via')).toBe('1.1 edge-gateway');
    const incoming = new Headers({ via: '1.0 fred, 1.1 p.example.net' });
    // Read from the headers when edge hygiene's entries are not given, and when they name a Via.
    expect(upstreamRequestHeaders(incoming, facts).get('via')).toBe('1.0 fred, 1.1 p.example.net, 1.1 edge-gateway');
    expect(upstreamRequestHeaders(incoming, facts, { entries: [['via', '1.0 fred, 1.1 p.example.net']] }).get('via')).toBe('1.0 fred, 1.1 p.example.net, 1.1 edge-gateway');
    // A client that names Via in Connection loses its entries, not the gateway's.
    expect(upstreamRequestHeaders(new Headers({ via: '1.1 fred', connection: 'via' }), facts).get('via')).toBe('1.1 edge-gateway');
  });

  it('cannot be tricked into dropping the gateway\'s own headers through Connection', () => {
    const headers = upstreamRequestHeaders(new Headers({ connection: 'x-forwarded-for, x-request-id, traceparent' }), facts);
    expect(headers.get('x-forwarded-for')).toBe('203.0.113.7');
    expect(headers.get('x-request-id')).toBe(trace.requestId);
    expect(headers.get('traceparent')).toBe(trace.traceparent);
  });

  it('quotes IPv6 addresses and host:port in Forwarded (RFC 7239 §6)', () => {
    const headers = upstreamRequestHeaders(new Headers(), { ...facts, clientIp: '2001:db8::1', host: '127.0.0.1:8787', proto: 'http' });
    expect(headers.get('forwarded')).toBe('for="[2001:db8::1]";host="127.0.0.1:8787";proto=http');
  });

  // Where the client address header is not set by a trusted edge (wrangler dev, plain workerd) a client chooses
  // its value: it must not add parameters or elements to Forwarded, nor go into X-Forwarded-For.
  it.each(['6.6.6.6;host=evil.example', '6.6.6.6, for=7.7.7.7', '"6.6.6.6"', 'not an address'])('says for=unknown in Forwarded and sets no X-Forwarded-For for a client address that is no IP address: %s', (clientIp) => {
    const headers = upstreamRequestHeaders(new Headers({ 'x-forwarded-for': '1.2.3.4' }), { ...facts, clientIp });
    expect(headers.get('forwarded')).toBe('for=unknown;host=api.example.com;proto=https');
    expect(headers.has('x-forwarded-for')).toBe(false);
  });

  it('passes an IPv6 client address to both, bracketed and quoted in Forwarded', () => {
    const headers = upstreamRequestHeaders(new Headers(), { ...facts, clientIp: '2001:db8::7' });
    expect(headers.get('x-forwarded-for')).toBe('2001:db8::7');
    expect(headers.get('forwarded')).toBe('for="[2001:db8::7]";host=api.example.com;proto=https');
  });

  it('says for=unknown and sets no X-Forwarded-For when the client address is not known', () => {
    const headers = upstreamRequestHeaders(new Headers({ 'x-forwarded-for': '1.2.3.4' }), { ...facts, clientIp: undefined });
    expect(headers.has('x-forwarded-for')).toBe(false);
    expect(headers.get('forwarded')).toMatch(/^for=unknown;/);
  });

  it('keeps the Upgrade handshake of a WebSocket', () => {
    const headers = upstreamRequestHeaders(
      new Headers({ connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' }),
      { ...facts, webSocket: true },
    );
    expect(headers.get('upgrade')).toBe('websocket');
    expect(headers.get('connection')).toBe('Upgrade');
    expect(headers.get('sec-websocket-key')).toBe('k');
  });
});

describe('upstreamRequestHeaders: identity headers', () => {
  const alice: Identity = { method: 'jwt', subject: 'alice', consumerId: 'local:alice', roles: ['admin', 'ops'], scopes: ['read'], claims: { email: 'a@example.com', tenant: { id: 't1' } } };
  const spoofed = { 'x-user-id': 'root', 'x-user-roles': 'superuser', 'x-consumer-id': 'local:root', 'cf-connecting-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6', 'x-real-ip': '6.6.6.6', 'x-forwarded-for': '6.6.6.6' };

  it('removes client copies of the identity headers of an anonymous request', () => {
    const headers = upstreamRequestHeaders(new Headers(spoofed), facts, { forwarding: identityForwarding(undefined), identity: undefined });
    for (const name of Object.keys(spoofed)) if (name !== 'x-forwarded-for') expect(headers.has(name), name).toBe(false);
    expect(headers.get('x-forwarded-for')).toBe('203.0.113.7');
  });

  it('replaces client copies with the authenticated caller', () => {
    const headers = upstreamRequestHeaders(new Headers(spoofed), facts, { forwarding: identityForwarding(undefined), identity: alice });
    expect(headers.get('x-user-id')).toBe('alice');
    expect(headers.get('x-user-roles')).toBe('admin,ops');
    expect(headers.get('x-consumer-id')).toBe('local:alice');
  });

  it('still sets them when the client names them in Connection', () => {
    const headers = upstreamRequestHeaders(new Headers({ ...spoofed, connection: 'x-user-id, x-user-roles, x-consumer-id' }), facts, { forwarding: identityForwarding(undefined), identity: alice });
    expect(headers.get('x-user-id')).toBe('alice');
    expect(headers.get('x-consumer-id')).toBe('local:alice');
    expect(headers.has('connection')).toBe(false);
  });

  it('follows a custom mapping, claims included, and still strips the default names', () => {
    const forwarding = identityForwarding({ 'x-auth-subject': 'subject', 'x-auth-email': 'claim:email', 'x-tenant': 'claim:tenant.id', 'x-scopes': 'scopes', 'x-auth-method': 'method' });
    const headers = upstreamRequestHeaders(new Headers({ 'x-user-id': 'root', 'x-auth-email': 'evil@example.com' }), facts, { forwarding, identity: alice });
    expect(headers.get('x-auth-subject')).toBe('alice');
    expect(headers.get('x-auth-email')).toBe('a@example.com');
    expect(headers.get('x-tenant')).toBe('t1');
    expect(headers.get('x-scopes')).toBe('read');
    expect(headers.get('x-auth-method')).toBe('jwt');
    expect(headers.has('x-user-id')).toBe(false);
  });

  it('leaves a header out when its claim is missing, and never forwards a client copy in its place', () => {
    const forwarding = identityForwarding({ 'x-auth-email': 'claim:missing' });
    const headers = upstreamRequestHeaders(new Headers({ 'x-auth-email': 'evil@example.com' }), facts, { forwarding, identity: alice });
    expect(headers.has('x-auth-email')).toBe(false);
  });

  it('percent-encodes values that could not travel in a header', () => {
    const headers = upstreamRequestHeaders(new Headers(), facts, { forwarding: identityForwarding(undefined), identity: { ...alice, subject: 'zoë\r\nx-admin: 1' } });
    expect(headers.get('x-user-id')).toBe('zo%C3%AB%0D%0Ax-admin: 1');
  });
});

describe('headerSafe', () => {
  // Inputs are JSON string literals, so test names stay printable.
  it.each([
    ['"plain ascii, spaces and %"', 'plain ascii, spaces and %'],
    ['"zo\\u00eb"', 'zo%C3%AB'],
    ['"100% zo\\u00eb"', '100%25 zo%C3%AB'],
    ['"a\\u0000b"', 'a%00b'],
    ['"\\ud800"', '%EF%BF%BD'],
  ])('%s → %s', (input, output) => {
    expect(headerSafe(JSON.parse(input) as string)).toBe(output);
  });
});

describe('upstreamRequestHeaders: the admin plane\'s Access credential', () => {
  const assertion = 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln';

  it('drops Cf-Access-Jwt-Assertion, with and without a service\'s identity headers', () => {
    const incoming = new Headers({ 'cf-access-jwt-assertion': assertion, 'x-kept': '1' });
    for (const options of [{}, { forwarding: identityForwarding(undefined) }, { forwarding: identityForwarding({ 'x-who': 'subject' }) }]) {
      const headers = upstreamRequestHeaders(incoming, facts, options);
      expect(headers.has('cf-access-jwt-assertion')).toBe(false);
      expect(headers.get('x-kept')).toBe('1');
    }
  });

  it('removes the CF_Authorization cookie (any casing) and keeps the client\'s other cookies', () => {
    const headers = upstreamRequestHeaders(new Headers({ cookie: `a=1; CF_Authorization=${assertion};b=2; cf_authorization=${assertion}` }), facts);
    expect(headers.get('cookie')).toBe('a=1; b=2');
  });

  it('drops the Cookie header when the Access cookie was its only cookie', () => {
    const headers = upstreamRequestHeaders(new Headers({ cookie: `CF_Authorization=${assertion}` }), facts);
    expect(headers.has('cookie')).toBe(false);
  });

  // Two Cookie lines reach the Worker joined by ", " (as every repeated header), not by "; ".
  it('removes the Access cookie from a second Cookie header too', () => {
    const incoming = new Headers([['cookie', 'a=1'], ['cookie', `CF_Authorization=${assertion}`], ['cookie', 'b=x,y']]);
    const headers = upstreamRequestHeaders(incoming, facts);
    expect(headers.get('cookie')).toBe('a=1, b=x,y');
  });

  it('leaves a cookie alone whose value merely mentions the name', () => {
    const headers = upstreamRequestHeaders(new Headers({ cookie: 'note=CF_Authorization' }), facts);
    expect(headers.get('cookie')).toBe('note=CF_Authorization');
  });

  it('also works from the entries edge hygiene has already read', () => {
    const incoming = new Headers({ 'cf-access-jwt-assertion': assertion, cookie: `CF_Authorization=${assertion}; a=1` });
    const headers = upstreamRequestHeaders(incoming, facts, { entries: [...incoming] });
    expect(headers.has('cf-access-jwt-assertion')).toBe(false);
    expect(headers.get('cookie')).toBe('a=1');
  });
});

describe('prepareResponseHeaders', () => {
  it('drops hop-by-hop headers from the origin and adds the request ids', () => {
    const headers = new Headers({ connection: 'close, x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=5', 'content-type': 'text/plain' });
    prepareResponseHeaders(headers, trace);
    expect(headers.has('x-internal')).toBe(false);
    expect(headers.has('keep-alive')).toBe(false);
    expect(headers.get('content-type')).toBe('text/plain');
    expect(headers.get('x-request-id')).toBe(trace.requestId);
  });

  it('drops every hop-by-hop header also without a Connection header, and keeps the rest', () => {
    const headers = new Headers({
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'proxy-authenticate': 'Basic',
      te: 'trailers',
      trailer: 'x-sum',
      upgrade: 'h2c',
      'set-cookie': 's=1',
      'x-public': 'ok',
    });
    prepareResponseHeaders(headers, trace);
    expect([...headers.keys()].sort()).toEqual(['set-cookie', 'traceparent', 'x-public', 'x-request-id']);
  });
});
