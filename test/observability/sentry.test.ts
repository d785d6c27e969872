/** Sentry reports through toucan-js, checked at a local stand-in for the ingest endpoint (test/support/stand-ins.ts). */
import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { scrub } from '../../src/observability/sentry.ts';
import { send } from '../support/gateway.ts';

const [echo] = inject('echoOrigins');
const dsn = inject('sentryDsn');
const standIn = inject('sentryStandIn');

async function received(): Promise<{ path: string; body: string }[]> {
  return (await (await fetch(`${standIn}/__received`)).json()) as { path: string; body: string }[];
}

const secrets = {
  authorization: 'Bearer authorization-secret-value',
  cookie: 'session=cookie-secret-value',
  'x-api-key': 'api-key-secret-value',
  'x-request-id': 'sentry-test-request',
};

describe('Sentry reports', () => {
  it('sends an envelope for a 500 the gateway made, with request id and release, secrets scrubbed', async () => {
    const before = (await received()).length;
    // An invalid deployed configuration: every request is a configuration-error 500 made by the gateway.
    const broken = { services: [{ name: 'x', routes: [], instances: [] }] } as unknown as GatewayConfigInput;
    const response = await send(broken, '/anything?api_key=query-secret-value', { headers: secrets }, { SENTRY_DSN: dsn, SENTRY_ENVIRONMENT: 'test' });
    expect(response.status).toBe(500);
    const envelopes = (await received()).slice(before);
    expect(envelopes).toHaveLength(1);
    expect(envelopes[0]!.path).toBe('/api/42/envelope/');
    const [header, itemHeader, payload] = envelopes[0]!.body.split('\n').map((line) => JSON.parse(line));
    expect(header).toMatchObject({ event_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(itemHeader).toMatchObject({ type: 'event' });
    expect(payload).toMatchObject({
      release: 'edge-gateway@0.1.0',
      environment: 'test',
      tags: { where: 'request', request_id: 'sentry-test-request' },
      exception: { values: [expect.objectContaining({ type: 'ConfigError' })] },
    });
    expect(payload.request.url).toBe('http://gateway.test/anything');
    expect(envelopes[0]!.body).not.toMatch(/secret-value/);
  });

  it('sends nothing without a DSN, and nothing for a problem that is not the gateway\'s fault', async () => {
    const before = (await received()).length;
    const broken = { services: [{ name: 'x', routes: [], instances: [] }] } as unknown as GatewayConfigInput;
    expect((await send(broken, '/anything')).status).toBe(500);
    const config: GatewayConfigInput = { services: [{ name: 'fine', routes: [{ pathPrefix: '/fine' }], instances: [{ url: echo! }] }] };
    expect((await send(config, '/nowhere', {}, { SENTRY_DSN: dsn })).status).toBe(404);
    expect((await received()).length).toBe(before);
  });

  it('scrubs credential-looking fields anywhere in an event', () => {
    expect(scrub({ request: { headers: { Authorization: 'x', 'X-Api-Key': 'y', accept: 'z' } }, extra: [{ sessionToken: 'w' }] })).toEqual({
      request: { headers: { Authorization: '[scrubbed]', 'X-Api-Key': '[scrubbed]', accept: 'z' } },
      extra: [{ sessionToken: '[scrubbed]' }],
    });
  });
});

describe('Sentry reports from Durable Objects', () => {
  it('reports an exception thrown inside an object, and the caller still gets it', async () => {
    const { env } = await import('cloudflare:workers');
    const { runInDurableObject } = await import('cloudflare:test');
    const stub = env.SERVICE_STATE.getByName('sentry-object');
    const before = (await received()).length;
    // Called on the instance itself (an exception over RPC is flagged as unhandled by the test pool). The object's
    // env is the test environment, which has no DSN: this instance gets one.
    await runInDurableObject(stub, async (instance) => {
      const objectEnv = (instance as unknown as { env: Record<string, string | undefined> }).env;
      objectEnv.SENTRY_DSN = dsn;
      try {
        await expect(instance.sync(null as never)).rejects.toThrow(TypeError);
      } finally {
        delete objectEnv.SENTRY_DSN;
      }
    });
    let envelopes: { body: string }[] = [];
    for (let i = 0; i < 50 && envelopes.length === 0; i++) {
      envelopes = (await received()).slice(before);
      if (envelopes.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(envelopes).toHaveLength(1);
    const payload = JSON.parse(envelopes[0]!.body.split('\n')[2]!);
    expect(payload.tags).toMatchObject({ where: 'durable-object', service: 'sentry-object', route: 'ServiceState.sync' });
    expect(payload.exception.values[0].type).toBe('TypeError');
  });
});

describe('Sentry reports from the cron and queue handlers', () => {
  // An invalid deployed configuration makes both handlers throw before doing anything (ConfigError).
  const brokenConfig = JSON.stringify({ services: [{ name: 'x', routes: [], instances: [] }] });

  async function envelopesAfter(before: number): Promise<{ body: string }[]> {
    let envelopes: { body: string }[] = [];
    for (let i = 0; i < 50 && envelopes.length === 0; i++) {
      envelopes = (await received()).slice(before);
      if (envelopes.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return envelopes;
  }

  it('reports an exception in the scheduled handler, tagged with the cron, and the run still fails', async () => {
    const { env } = await import('cloudflare:workers');
    const { createExecutionContext, createScheduledController, waitOnExecutionContext } = await import('cloudflare:test');
    const worker = (await import('../../src/index.ts')).default;
    const before = (await received()).length;
    const ctx = createExecutionContext();
    const failing = { ...env, SENTRY_DSN: dsn, SENTRY_ENVIRONMENT: 'test', GATEWAY_CONFIG: brokenConfig };
    await expect(worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), failing, ctx)).rejects.toThrow(/invalid gateway configuration/);
    await waitOnExecutionContext(ctx);
    const envelopes = await envelopesAfter(before);
    expect(envelopes).toHaveLength(1);
    const payload = JSON.parse(envelopes[0]!.body.split('\n')[2]!);
    expect(payload).toMatchObject({ environment: 'test', tags: { where: 'scheduled', route: '* * * * *' }, exception: { values: [expect.objectContaining({ type: 'ConfigError' })] } });
  });

  it('reports an exception in the queue handler, tagged with the queue, and the batch still fails (to be retried)', async () => {
    const { env } = await import('cloudflare:workers');
    const { createExecutionContext, createMessageBatch, waitOnExecutionContext } = await import('cloudflare:test');
    const worker = (await import('../../src/index.ts')).default;
    const before = (await received()).length;
    const ctx = createExecutionContext();
    const batch = createMessageBatch('gateway-alerts-development', [{ id: 'm1', timestamp: new Date(), attempts: 1, body: {} }]);
    const failing = { ...env, SENTRY_DSN: dsn, GATEWAY_CONFIG: brokenConfig };
    await expect(worker.queue(batch as never, failing, ctx)).rejects.toThrow(/invalid gateway configuration/);
    await waitOnExecutionContext(ctx);
    const envelopes = await envelopesAfter(before);
    expect(envelopes).toHaveLength(1);
    const payload = JSON.parse(envelopes[0]!.body.split('\n')[2]!);
    expect(payload.tags).toMatchObject({ where: 'queue', route: 'gateway-alerts-development' });
  });

  it('sends nothing from a failing cron run without a DSN', async () => {
    const { env } = await import('cloudflare:workers');
    const { createExecutionContext, createScheduledController, waitOnExecutionContext } = await import('cloudflare:test');
    const worker = (await import('../../src/index.ts')).default;
    const before = (await received()).length;
    const ctx = createExecutionContext();
    await expect(worker.scheduled(createScheduledController({ cron: '* * * * *' }), { ...env, SENTRY_DSN: undefined, GATEWAY_CONFIG: brokenConfig }, ctx)).rejects.toThrow();
    await waitOnExecutionContext(ctx);
    expect((await received()).length).toBe(before);
  });
});
