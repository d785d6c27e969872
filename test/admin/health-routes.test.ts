import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { asAdmin, gatewayFor, problemType } from '../support/gateway.ts';

const scripted = inject('scriptedOrigin');
const [echo1, echo2] = inject('echoOrigins');

async function setHealth(base: string, status: number, body?: object): Promise<void> {
  const query = `path=${encodeURIComponent(`${base}/api/v1/health`)}&status=${status}${body ? `&body=${encodeURIComponent(JSON.stringify(body))}` : ''}`;
  await fetch(`${scripted}/__set?${query}`);
}

const config: GatewayConfigInput = {
  gateway: { statePlane: { syncIntervalMs: 60_000, callTimeoutMs: 2_000 } },
  services: [
    {
      name: 'hr-pair',
      routes: [{ pathPrefix: '/hr-pair' }],
      // The scripted instance answers its own path for anything but its health check.
      instances: [{ id: 'flaky', url: `${scripted}/hr-flaky` }, { id: 'steady', url: echo1! }],
      healthCheck: { unhealthyThreshold: 1, healthyThreshold: 1 },
      retries: { attempts: 0 },
    },
    {
      name: 'hr-lonely',
      routes: [{ pathPrefix: '/hr-lonely' }],
      instances: [{ id: 'lonely', url: `${scripted}/hr-lonely` }],
      healthCheck: { unhealthyThreshold: 1, healthyThreshold: 1 },
    },
  ],
};
const send = gatewayFor(config);
const check = (service?: string) =>
  send('/health/check', asAdmin({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(service ? { service } : {}) }));

describe('health endpoints', () => {
  // The first request arms the alarms, which probe at once: the origins must answer as the tests expect by then.
  beforeAll(async () => {
    await setHealth('/hr-flaky', 200);
    await setHealth('/hr-lonely', 200, { cpu: 12.5, memory: 70 });
  });

  it('GET /health/live answers without calling anything, and GET /health/ready when the state plane answers', async () => {
    expect(await (await send('/health/live')).json()).toEqual({ status: 'ok' });
    const ready = await send('/health/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { configuration: true, statePlane: true } });
  });

  it('POST /health/check probes now, returns the results and takes a failing instance out of rotation at once', async () => {
    await setHealth('/hr-flaky', 503);
    await setHealth('/hr-lonely', 200, { cpu: 12.5, memory: 70 });
    const response = await check();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { services: { name: string; status: string; results: { instance: string; ok: boolean; status: number }[]; transitions: { instance: string; to: string }[] }[] };
    const pair = body.services.find((service) => service.name === 'hr-pair')!;
    expect(pair.status).toBe('degraded');
    expect(pair.results.find((result) => result.instance === 'flaky')).toMatchObject({ ok: false, status: 503 });
    expect(pair.transitions).toContainEqual(expect.objectContaining({ instance: 'flaky', to: 'unhealthy' }));

    // Traffic no longer reaches the unhealthy instance: every answer is the echo origin's.
    for (let i = 0; i < 6; i++) {
      const answer = await send(`/hr-pair/item-${i}`);
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { instance?: string }).instance).toBe('echo-1');
    }

    const services = (await (await send('/health/services', asAdmin())).json()) as { services: { name: string; status: string; instances: Record<string, unknown>[] }[] };
    const lonely = services.services.find((service) => service.name === 'hr-lonely')!;
    expect(lonely.status).toBe('healthy');
    expect(lonely.instances[0]).toEqual({
      id: 'lonely',
      url: `${scripted}/hr-lonely`,
      status: 'healthy',
      lastCheckAt: expect.any(Number),
      latencyMs: expect.any(Number),
      consecutiveFailures: 0,
      figures: { cpu: 12.5, memory: 70 },
    });
    expect(services.services.find((service) => service.name === 'hr-pair')!.instances.map((instance) => instance.status)).toEqual(['unhealthy', 'healthy']);

    // Back in rotation as soon as it passes again.
    await setHealth('/hr-flaky', 200);
    await check('hr-pair');
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) seen.add((await send(`/hr-pair/again-${i}`)).status);
    expect(seen).toContain(500); // the scripted origin answers 500 on its other paths: traffic reaches it again
  });

  it('GET /health tells ok, degraded or down with counts only, and 503 when every service is down', async () => {
    await setHealth('/hr-flaky', 503);
    await setHealth('/hr-lonely', 200);
    await check();
    const degraded = await send('/health');
    expect(degraded.status).toBe(200);
    const text = await degraded.text();
    expect(JSON.parse(text)).toMatchObject({ status: 'degraded', services: { total: 2, degraded: 1 }, instances: { total: 3, unhealthy: 1 } });
    // No topology: no service, instance or origin named.
    for (const secret of ['hr-', 'flaky', 'lonely', '127.0.0.1', 'steady']) expect(text).not.toContain(secret);

    await setHealth('/hr-lonely', 500);
    const down = gatewayFor({ ...config, services: [config.services[1]!] });
    await down('/health/check', asAdmin({ method: 'POST' }));
    const response = await down('/health');
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'down' });
    // Panic mode: with every instance unhealthy the service still gets traffic rather than failing everything.
    expect((await down('/hr-lonely/x')).status).toBe(500);
  });

  it('GET /health/history filters by service, instance, time and count, newest first', async () => {
    await check('hr-pair');
    const all = (await (await send('/health/history?service=hr-pair&limit=50', asAdmin())).json()) as { entries: { service: string; instance: string; at: number; kind: string }[] };
    expect(all.entries.length).toBeGreaterThan(2);
    expect(all.entries.every((entry) => entry.service === 'hr-pair')).toBe(true);
    expect(all.entries.map((entry) => entry.at)).toEqual([...all.entries.map((entry) => entry.at)].sort((a, b) => b - a));
    const one = (await (await send('/health/history?service=hr-pair&instance=steady&limit=2', asAdmin())).json()) as { entries: { instance: string }[] };
    expect(one.entries).toHaveLength(2);
    expect(one.entries.every((entry) => entry.instance === 'steady')).toBe(true);
    const future = (await (await send(`/health/history?since=${Date.now() + 60_000}`, asAdmin())).json()) as { entries: unknown[] };
    expect(future.entries).toEqual([]);
    const unknown = await send('/health/history?service=nope', asAdmin());
    expect(unknown.status).toBe(404);
    expect(await problemType(unknown)).toBe('service-not-found');
    expect(await problemType(await send('/health/history?limit=0', asAdmin()))).toBe('invalid-request');
  });

  it('GET /services lists the services with their routes and health', async () => {
    const body = (await (await send('/services', asAdmin())).json()) as { services: { name: string; status: string; routes: unknown[]; instances: unknown[] }[] };
    expect(body.services.map((service) => service.name)).toEqual(['hr-pair', 'hr-lonely']);
    expect(body.services[0]).toMatchObject({ routes: [{ id: 'hr-pair', pathPrefix: '/hr-pair' }] });
  });

  it('refuses the health detail endpoints without credentials', async () => {
    for (const [method, path] of [['GET', '/health/services'], ['GET', '/health/history'], ['POST', '/health/check'], ['GET', '/services']] as const) {
      const response = await send(path, { method });
      expect(response.status, path).toBe(401);
    }
  });

  it('GET / shows the gateway index where no route claims "/", and is proxied where one does', async () => {
    const index = await send('/');
    expect(index.status).toBe(200);
    expect(await index.json()).toMatchObject({ name: 'edge-gateway', links: { health: '/health', docs: '/docs' } });
    const catchAll = gatewayFor({ services: [{ name: 'hr-root', routes: [{ pathPrefix: '/' }], instances: [{ url: echo2! }] }] });
    const proxied = await catchAll('/');
    expect(((await proxied.json()) as { instance?: string }).instance).toBe('echo-2');
  });
});

describe('adminHost', () => {
  const hosted = gatewayFor({
    gateway: { adminHost: 'admin.gateway.test' },
    services: [
      { name: 'hr-public', routes: [{ pathPrefix: '/health/services' }, { pathPrefix: '/gateway' }], instances: [{ url: echo2! }] },
    ],
  });

  it('answers the admin and health-detail endpoints only on the admin host, and routes those paths elsewhere', async () => {
    expect((await hosted('/health/services', { base: 'http://admin.gateway.test' })).status).toBe(401);
    expect((await hosted('/health/services', { ...asAdmin(), base: 'http://admin.gateway.test' })).status).toBe(200);
    expect((await hosted('/gateway/status', { ...asAdmin(), base: 'http://admin.gateway.test' })).status).toBe(200);
    const routed = await hosted('/health/services', { ...asAdmin(), base: 'http://public.gateway.test' });
    expect(routed.status).toBe(200);
    expect(((await routed.json()) as { instance?: string; path?: string })).toMatchObject({ instance: 'echo-2' });
    expect(((await (await hosted('/gateway/status', { base: 'http://public.gateway.test' })).json()) as { instance?: string }).instance).toBe('echo-2');
    // The public checks answer on every host.
    expect((await hosted('/health/live', { base: 'http://public.gateway.test' })).status).toBe(200);
  });
});
