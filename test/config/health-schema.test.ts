import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

const service = (pathPrefix: string) => ({ name: 'svc', routes: [{ pathPrefix }], instances: [{ url: 'https://origin.example' }] });

describe('health configuration', () => {
  it('refuses routes that collide with the gateway health, services and metrics endpoints, naming the field', () => {
    for (const prefix of ['/health', '/health/ready', '/services', '/metrics/json']) {
      expect(issuesOf({ services: [service(prefix)] })[0]).toMatch(/^services\[0\]\.routes\[0\]\.pathPrefix: "\/\w+" is reserved for the gateway's own endpoints$/);
    }
  });

  it('with adminHost, lets routes claim the admin-only paths but not the public health checks', () => {
    const config = (prefix: string) => ({ gateway: { adminHost: 'admin.example.com' }, services: [service(prefix)] });
    expect(() => parseGatewayConfig(config('/health/services'))).not.toThrow();
    expect(() => parseGatewayConfig(config('/gateway'))).not.toThrow();
    expect(issuesOf(config('/health'))).toEqual(['services[0].routes[0].pathPrefix: "/health" is reserved for the gateway\'s own endpoints on every host']);
    expect(issuesOf(config('/health/live'))).toEqual(['services[0].routes[0].pathPrefix: "/health" is reserved for the gateway\'s own endpoints on every host']);
  });

  it('fills in the health-check defaults and refuses an interval under 5 s', () => {
    const parsed = parseGatewayConfig({ services: [service('/svc')] });
    expect(parsed.services[0]!.healthCheck).toEqual({ path: '/api/v1/health', intervalSeconds: 30, timeoutMs: 2_000, healthyThreshold: 2, unhealthyThreshold: 3, figures: [], enabled: true });
    expect(parsed.gateway.healthHistory).toEqual({ maxEntries: 1_000, maxAgeSeconds: 86_400 });
    expect(issuesOf({ services: [{ ...service('/svc'), healthCheck: { intervalSeconds: 4 } }] })).toEqual(['services[0].healthCheck.intervalSeconds: Too small: expected number to be >=5']);
  });

  it('validates alert rules and channels at the boundary, naming the field', () => {
    const alerting = (input: object) => ({ gateway: { alerting: input }, services: [service('/svc')] });
    expect(issuesOf(alerting({ rules: [{ name: 'r', metric: 'cpu', threshold: 1 }] }))[0]).toMatch(/^gateway\.alerting\.rules\[0\]\.metric: expected one of error_rate, .* or origin\.<figure>/);
    expect(issuesOf(alerting({ rules: [{ name: 'r', metric: 'origin.cpu', threshold: 1 }, { name: 'r', metric: 'error_rate', threshold: 1 }] }))).toEqual(['gateway.alerting.rules[1].name: duplicate name "r"']);
    expect(issuesOf(alerting({ channels: [{ name: 'c', type: 'sms', accountSid: 'x', from: '+15005550006', to: ['+919812345678'] }] }))).toEqual(['gateway.alerting.channels[0].accountSid: expected a Twilio account SID (AC + 32 hex digits)']);
    const parsed = parseGatewayConfig(alerting({ rules: [{ name: 'r', metric: 'origin.disk', threshold: 95 }] }));
    expect(parsed.gateway.alerting.rules[0]).toEqual({ name: 'r', metric: 'origin.disk', comparator: '>', threshold: 95, windowSeconds: 300, minRequests: 20, severity: 'high', cooldownSeconds: 300, channels: [], enabled: true });
  });
});
