/** serviceChain: only the policies a service has on run, in order, then the handler; refusals rendered once a finish waits; waits timed. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { GatewayRuntime } from '../../src/runtime/gateway-runtime.ts';
import type { ServiceConfig } from '../../src/config/schema.ts';
import type { AppEnv } from '../../src/env.ts';
import { GatewayError } from '../../src/errors/problem.ts';
import { renderError } from '../../src/errors/render-error.ts';
import { newObservation } from '../../src/observability/request-spans.ts';
import { answerWithProblem, applyAnswerHeaders, serviceChain, type ServicePolicy } from '../../src/policies/service-chain.ts';

const gateway = {} as GatewayRuntime;
const service = (name: string, on: string[]) => ({ name, policies: Object.fromEntries(on.map((policy) => [policy, {}])) }) as unknown as ServiceConfig;
type Behaviour = 'passes' | 'finishes' | 'waits' | 'refuses';

function appWith(ran: string[], decisions: { count: number }, behaviours: Record<string, Behaviour>) {
  const policy = (name: string): ServicePolicy => ({
    phase: name,
    appliesTo: (s) => {
      decisions.count += 1;
      return name in s.policies;
    },
    admit: () => {
      ran.push(name);
      const behaviour = behaviours[name] ?? 'passes';
      if (behaviour === 'refuses') throw new GatewayError('rate-limited', { service: 's', retryAfter: 1 });
      const finish = (c: { error?: Error }) => void ran.push(`${name} saw ${c.error ? 'an error' : 'a response'}`);
      if (behaviour === 'finishes') return finish;
      if (behaviour === 'waits') return new Promise((resolve) => setTimeout(() => resolve(finish), 5));
    },
  });
  const app = new Hono<AppEnv>();
  app.onError(renderError);
  const observation = newObservation();
  app.use(async (c, next) => {
    c.set('gateway', gateway);
    c.set('observation', observation);
    c.set('route', { kind: 'match', service: service(c.req.path.slice(1), c.req.query('on')?.split(',') ?? []), route: {} as never, upstreamPath: '/' });
    await next();
  });
  const chain = serviceChain([policy('a'), policy('b'), policy('c')], (c) =>
    c.req.query('origin') === 'fails' ? Promise.reject(new GatewayError('upstream-unreachable', { service: 's' })) : Promise.resolve(c.text('origin')),
  );
  app.all('*', (c) => chain(c));
  return { app, observation };
}

describe('serviceChain', () => {
  it('runs only the policies the service has on, deciding which once per configuration version and service', async () => {
    const ran: string[] = [];
    const decisions = { count: 0 };
    const { app } = appWith(ran, decisions, { a: 'finishes', c: 'finishes' });
    expect(await (await app.request('/svc?on=a,c')).text()).toBe('origin');
    await app.request('/svc?on=a,c');
    expect(ran).toEqual(['a', 'c', 'c saw a response', 'a saw a response', 'a', 'c', 'c saw a response', 'a saw a response']);
    expect(decisions.count).toBe(3);
  });

  it('passes a request on with no finish when every policy decides at once', async () => {
    const ran: string[] = [];
    const { app, observation } = appWith(ran, { count: 0 }, {});
    expect(await (await app.request('/svc?on=a,b,c')).text()).toBe('origin');
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(observation.spans).toEqual([]);
  });

  it('renders a refusal of a later policy, which the earlier ones then see as Hono would show it', async () => {
    const ran: string[] = [];
    const response = await appWith(ran, { count: 0 }, { a: 'finishes', b: 'refuses' }).app.request('/other?on=a,b,c');
    expect(response.status).toBe(429);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(ran).toEqual(['a', 'b', 'a saw an error']);
  });

  it('passes a refusal before any finish up to its caller (here Hono, which renders it)', async () => {
    const ran: string[] = [];
    const response = await appWith(ran, { count: 0 }, { b: 'refuses' }).app.request('/other?on=a,b,c');
    expect(response.status).toBe(429);
    expect(ran).toEqual(['a', 'b']);
  });

  it('finishes see a failed forward as an error, and a wait becomes a span named after the policy', async () => {
    const ran: string[] = [];
    const { app, observation } = appWith(ran, { count: 0 }, { b: 'waits' });
    const response = await app.request('/svc?on=a,b,c&origin=fails');
    expect(response.status).toBe(502);
    expect(ran).toEqual(['a', 'b', 'c', 'b saw an error']);
    expect(observation.spans.map((span) => span.name)).toEqual(['b']);
    expect(observation.spans[0]!.durationMs).toBeGreaterThan(0);
  });
});

describe('answerWithProblem and applyAnswerHeaders', () => {
  it('renders the problem, records the error and releases what the request holds, once', async () => {
    const app = new Hono<AppEnv>();
    let releases = 0;
    app.get('*', (c) => {
      c.set('releaseOnDelivery', () => void (releases += 1));
      const answer = answerWithProblem(c, new GatewayError('circuit-open', { service: 's', retryAfter: 1 }));
      expect(c.error).toBeInstanceOf(GatewayError);
      return answer;
    });
    const response = await app.request('/x');
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(releases).toBe(1);
  });

  it('puts the headers policies asked for on whatever the answer is', async () => {
    const app = new Hono<AppEnv>();
    app.use(async (c, next) => {
      await next();
      applyAnswerHeaders(c);
    });
    app.get('/asked', (c) => {
      c.set('answerHeaders', { ratelimit: '"s";r=1;t=2' });
      return c.text('ok');
    });
    app.get('/none', (c) => c.text('ok'));
    expect((await app.request('/asked')).headers.get('ratelimit')).toBe('"s";r=1;t=2');
    expect((await app.request('/none')).headers.get('ratelimit')).toBeNull();
  });
});
