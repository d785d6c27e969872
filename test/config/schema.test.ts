import { describe, expect, it } from 'vitest';
import bundledConfig from '../../gateway.config.json';
import { parseGatewayConfig, parseGatewayConfigText } from '../../src/config/load.ts';
import { issuesOf } from '../support/config.ts';

const instance = { url: 'http://127.0.0.1:8081' };
const service = (overrides: Record<string, unknown> = {}) => ({
  name: 'samples',
  routes: [{ pathPrefix: '/samples' }],
  instances: [instance],
  ...overrides,
});

describe('gateway.config.json', () => {
  it('describes the seven demo services, with two instances for samples and storage', () => {
    const config = parseGatewayConfig(bundledConfig);
    expect(config.services.map((s) => [s.name, s.routes[0]!.pathPrefix])).toEqual([
      ['auth', '/auth'],
      ['samples', '/samples'],
      ['storage', '/storage'],
      ['templates', '/templates'],
      ['sequencing', '/sequencing'],
      ['notifications', '/notifications'],
      ['rag', '/rag'],
    ]);
    expect(config.services.find((s) => s.name === 'samples')!.instances).toHaveLength(2);
    expect(config.services.find((s) => s.name === 'storage')!.instances).toHaveLength(2);
  });

  it('fills in defaults', () => {
    const [parsed] = parseGatewayConfig({ services: [service()] }).services;
    expect(parsed!.instances[0]).toEqual({ id: 'samples-1', url: instance.url, weight: 1 });
    expect(parsed!.routes[0]!.id).toBe('samples');
    expect(parsed!.loadBalancing.strategy).toBe('round_robin');
    expect(parsed!.retries.methods).toEqual(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
    expect(parsed!.timeouts.requestMs).toBe(30_000);
  });
});

describe('configuration errors name the field and what was expected', () => {
  it.each([
    [{ services: [service({ instances: [{ url: 'ftp://x' }] })] }, 'services[0].instances[0].url: expected http or https, got "ftp"'],
    [{ services: [service({ instances: [{ url: 'http://u:p@x' }] })] }, 'services[0].instances[0].url: credentials are not allowed in the URL'],
    [{ services: [service({ instances: [{ url: 'not a url' }] })] }, 'services[0].instances[0].url: expected an absolute http(s) URL'],
    [{ services: [service({ instances: [{ url: 'http://x', weight: 0 }] })] }, 'services[0].instances[0].weight: Too small: expected number to be >=1'],
    [{ services: [service({ routes: [{ pathPrefix: 'samples' }] })] }, 'services[0].routes[0].pathPrefix: expected a path: path must start with "/"'],
    [{ services: [service({ routes: [{ pathPrefix: '/a/../samples' }] })] }, 'services[0].routes[0].pathPrefix: expected a normalised path without a trailing slash, such as "/samples"'],
    [{ services: [service({ routes: [{ pathPrefix: '/samples/' }] })] }, 'services[0].routes[0].pathPrefix: expected a normalised path without a trailing slash, such as "/samples"'],
    [{ services: [service({ routes: [{ pathPrefix: '/gateway/x' }] })] }, 'services[0].routes[0].pathPrefix: "/gateway" is reserved for the gateway\'s own endpoints'],
    [{ services: [service({ routes: [{ pathPrefix: '/dashboard' }] })] }, 'services[0].routes[0].pathPrefix: "/dashboard" is reserved for the gateway\'s own endpoints'],
    [{ services: [service({ routes: [{ pathPrefix: '/s', stripPrefix: true, rewritePrefix: '/x' }] })] }, 'services[0].routes[0].rewritePrefix: use either stripPrefix or rewritePrefix, not both'],
    [{ services: [service({ loadBalancing: { strategy: 'random' } })] }, 'services[0].loadBalancing.strategy: Invalid option: expected one of "round_robin"|"weighted_round_robin"|"least_connections"|"latency_aware"'],
    [{ services: [service({ retries: { on: ['always'] } })] }, 'services[0].retries.on[0]: Invalid option: expected one of "connect-failure"|"timeout"|"gateway-error"|"5xx"'],
    [{ services: [service({ name: 'Samples' })] }, 'services[0].name: expected lower-case letters, digits and "-", starting with a letter'],
    [{ services: [service({ extra: true })] }, 'services[0]: Unrecognized key: "extra"'],
    [{ services: [] }, 'services: Too small: expected array to have >=1 items'],
    [{ services: [service(), service()] }, 'services[1].name: duplicate service name "samples"'],
    [{ services: [service({ instances: [{ id: 'a', url: 'http://x' }, { id: 'a', url: 'http://y' }] })] }, 'services[0].instances[1].id: duplicate instance id "a"'],
    [{ services: [service(), service({ name: 'other', routes: [{ pathPrefix: '/samples' }] })] }, 'services[1].routes[0].pathPrefix: same prefix, methods and hosts as route "samples"'],
  ])('%j → %s', (input, expected) => {
    expect(issuesOf(input)).toContain(expected);
  });

  it('reports every bad field at once', () => {
    const issues = issuesOf({ services: [service({ instances: [{ url: 'ftp://x', weight: -1 }], routes: [{ pathPrefix: 'x' }] })] });
    expect(issues).toHaveLength(3);
  });

  it('bounds the services, the routes of a service and its instances, in the file as through the admin API', () => {
    const many = (count: number, item: (i: number) => object) => Array.from({ length: count }, (_, i) => item(i));
    expect(issuesOf({ services: many(1_001, (s) => service({ name: `s${s}`, routes: [{ pathPrefix: `/s${s}` }] })) })).toContain('services: Too big: expected array to have <=1000 items');
    expect(issuesOf({ services: [service({ routes: many(1_001, (r) => ({ pathPrefix: `/r${r}` })) })] })).toContain('services[0].routes: Too big: expected array to have <=1000 items');
    expect(issuesOf({ services: [service({ instances: many(257, (i) => ({ id: `i${i}`, url: 'http://x' })) })] })).toContain('services[0].instances: Too big: expected array to have <=256 items');
    expect(() => parseGatewayConfig({ services: [service({ routes: many(1_000, (r) => ({ pathPrefix: `/r${r}` })), instances: many(256, (i) => ({ id: `i${i}`, url: 'http://x' })) })] })).not.toThrow();
  });

  it('accepts routes with the same prefix told apart by host or method', () => {
    expect(() =>
      parseGatewayConfig({
        services: [
          service(),
          service({ name: 'tenant', routes: [{ pathPrefix: '/samples', hosts: ['*.tenant.example'] }] }),
          service({ name: 'reader', routes: [{ pathPrefix: '/samples', hosts: ['*.tenant.example'], methods: ['GET'] }] }),
        ],
      }),
    ).not.toThrow();
  });

  it('reports JSON syntax errors with their source', () => {
    expect(() => parseGatewayConfigText('{"services": [', 'GATEWAY_CONFIG')).toThrow(/GATEWAY_CONFIG[\s\S]*not valid JSON/);
  });
});

describe('docs/gateway.config.schema.json', () => {
  it('is the JSON Schema of the zod schema, up to date (run `npm run schema` after changing it)', async () => {
    const { configJsonSchemaText } = await import('../../src/config/json-schema.ts');
    const checkedIn = await import('../../docs/gateway.config.schema.json');
    expect(checkedIn.default).toEqual(JSON.parse(configJsonSchemaText()));
  });
});

describe('rate limit leases', () => {
  const leaseOf = (rateLimit: Record<string, unknown>) =>
    parseGatewayConfig({ services: [{ name: 'svc', routes: [{ pathPrefix: '/svc' }], instances: [{ id: 'a', url: 'http://127.0.0.1:9' }], policies: { rateLimit } }] }, 'test').services[0]!.policies.rateLimit!.maxLease;

  it('default to 1% of limit + burst, at least 50 and at most 10,000 tokens', () => {
    expect(leaseOf({ limit: 100, windowSeconds: 60 })).toBe(50);
    expect(leaseOf({ limit: 600_000, windowSeconds: 60, burst: 200_000 })).toBe(8_000);
    expect(leaseOf({ limit: 60_000_000, windowSeconds: 60 })).toBe(10_000);
  });

  it('keep a maxLease given in the configuration', () => {
    expect(leaseOf({ limit: 60_000_000, windowSeconds: 60, maxLease: 7 })).toBe(7);
  });
});
