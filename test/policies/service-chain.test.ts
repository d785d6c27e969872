/** serviceChain: only the policies a service has on run, in order, with Hono's error semantics. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { GatewayRuntime } from '../../src/runtime/gateway-runtime.ts';
import type { ServiceConfig } from '../../src/config/schema.ts';
import type { AppEnv } from '../../src/env.ts';
import { GatewayError } from '../../src/errors/problem.ts';
import { renderError } from '../../src/errors/render-error.ts';
import { serviceChain } from '../../src/policies/service-chain.ts';

const gateway = {} as GatewayRuntime;
const service = (name: string, on: string[]) => ({ name, policies: Object.fromEntries(on.map((policy) => [policy, {}])) }) as unknown as ServiceConfig;

function appWith(ran: string[], decisions: { count: number }) {
  const policy = (name: string, throws = false) => ({
    appliesTo: (s: ServiceConfig) => {
      decisions.count += 1;
      return name in s.policies;
    },
    handler: async (c: { error?: Error }, next: () => Promise<void>) => {
      ran.push(name);
      if (throws) throw new GatewayError('rate-limited', { service: 's', retryAfter: 1 });
      await next();
      ran.push(`${name} saw ${c.error ? 'an error' : 'a response'}`);
    },
  });
  const app = new Hono<AppEnv>();
  app.onError(renderError);
  app.use(async (c, next) => {
    c.set('gateway', gateway);
    c.set('route', { kind: 'match', service: service(c.req.path.slice(1), c.req.query('on')?.split(',') ?? []), route: {} as never, upstreamPath: '/' });
    await next();
  });
  app.use(serviceChain([policy('a'), policy('b', true), policy('c')] as never));
  app.all('*', (c) => c.text('origin'));
  return app;
}

describe('serviceChain', () => {
  it('runs only the policies the service has on, deciding which once per configuration version and service', async () => {
    const ran: string[] = [];
    const decisions = { count: 0 };
    const app = appWith(ran, decisions);
    expect(await (await app.request('/svc?on=a,c')).text()).toBe('origin');
    await app.request('/svc?on=a,c');
    expect(ran).toEqual(['a', 'c', 'c saw a response', 'a saw a response', 'a', 'c', 'c saw a response', 'a saw a response']);
    expect(decisions.count).toBe(3);
  });

  it('renders an error of an inner policy, which the outer ones then see as Hono would show it', async () => {
    const ran: string[] = [];
    const response = await appWith(ran, { count: 0 }).request('/other?on=a,b,c');
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(ran).toEqual(['a', 'b', 'a saw an error']);
  });
});
