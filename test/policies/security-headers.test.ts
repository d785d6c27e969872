/** Security headers on every response the gateway sends. */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { gatewayFor } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');
const config: GatewayConfigInput = { services: [{ name: 'echo', routes: [{ pathPrefix: '/echo' }], instances: [{ url: echo! }] }] };
const send = gatewayFor(config, { ADMIN_TOKEN: 'security-headers-admin-token-0123' });

describe('security headers', () => {
  it('adds nosniff, frame and referrer policy to proxied responses', async () => {
    const response = await send('/echo/x');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('adds them to the gateway\'s own problems too, even for a path it refuses before routing', async () => {
    for (const path of ['/nowhere', '/echo/%zz']) {
      const response = await send(path);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });

  it('adds them when the configuration itself is broken', async () => {
    const broken = gatewayFor({ services: [] } as unknown as GatewayConfigInput);
    const response = await broken('/echo/x');
    expect(response.status).toBe(500);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });

  it('sends HSTS on https only', async () => {
    expect((await send('/echo/x', { base: 'https://api.example.com' })).headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await send('/echo/x')).headers.get('strict-transport-security')).toBeNull();
  });

  it('puts a locked-down CSP on the admin API and the dashboard CSP on the dashboard', async () => {
    const api = await send('/gateway/api-keys');
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    const dashboard = await send('/gateway/dashboard');
    expect(dashboard.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(dashboard.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await send('/echo/x')).headers.get('content-security-policy')).toBeNull();
  });

  it('follows the configuration: headers switched off, another referrer policy, HSTS off', async () => {
    const custom = gatewayFor({
      gateway: { securityHeaders: { frameOptions: 'off', referrerPolicy: 'strict-origin', hstsMaxAgeSeconds: 0, overrideOrigin: true } },
      services: config.services,
    });
    const response = await custom('/echo/x', { base: 'https://api.example.com' });
    expect(response.headers.get('x-frame-options')).toBeNull();
    expect(response.headers.get('referrer-policy')).toBe('strict-origin');
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });
});
