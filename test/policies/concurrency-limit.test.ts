import { describe, expect, inject, it } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.ts';
import { ConcurrencyGate, concurrencyGateOf } from '../../src/policies/concurrency-limit.ts';
import { serviceStateClient } from '../../src/state/clients/service-state-client.ts';
import { problemType, send } from '../support/gateway.ts';

const scripted = inject('scriptedOrigin');
const policy = { maxInFlight: 2, maxQueue: 1, queueTimeoutMs: 1_000 };

describe('ConcurrencyGate', () => {
  it('admits up to maxInFlight at once, queues up to maxQueue, refuses the rest at once', async () => {
    const gate = new ConcurrencyGate();
    const first = await gate.acquire(policy);
    const second = await gate.acquire(policy);
    const queued = gate.acquire(policy);
    expect(gate.queued).toBe(1);
    expect(await gate.acquire(policy)).toBeUndefined();
    first!();
    const third = await queued;
    expect(third).toBeTypeOf('function');
    expect(gate.inFlight).toBe(2);
    second!();
    third!();
    expect(gate.inFlight).toBe(0);
  });

  // A waiter that workerd cancelled outright (it never looks again) is dropped at its deadline: that case needs a
  // real disconnect and is tested in test/e2e/hardening-workerd.test.ts.
  it('lets a waiter whose client left leave the queue without taking a slot', async () => {
    const gate = new ConcurrencyGate();
    const tight = { maxInFlight: 1, maxQueue: 5, queueTimeoutMs: 50 };
    const release = await gate.acquire(tight);
    const abandoned = new AbortController();
    abandoned.abort();
    const gone = gate.acquire(tight, abandoned.signal);
    expect(gate.queued).toBe(1);
    expect(await gone).toBeUndefined();
    expect(gate.queued).toBe(0);
    release!();
    expect(gate.inFlight).toBe(0);
    expect(await gate.acquire(tight)).toBeTypeOf('function');
  });

  it('serves the queue in arrival order', async () => {
    const gate = new ConcurrencyGate();
    const release = await gate.acquire({ ...policy, maxInFlight: 1, maxQueue: 5 });
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => gate.acquire({ ...policy, maxInFlight: 1, maxQueue: 5 }).then((r) => (order.push(n), r)));
    release!();
    (await waiting[0])!();
    (await waiting[1])!();
    (await waiting[2])!();
    expect(order).toEqual([1, 2, 3]);
  });

  it('refuses a queued request when its wait runs out', async () => {
    const gate = new ConcurrencyGate();
    await gate.acquire({ ...policy, maxInFlight: 1 });
    expect(await gate.acquire({ ...policy, maxInFlight: 1, queueTimeoutMs: 20 })).toBeUndefined();
    expect(gate.queued).toBe(0);
  });

  it('counts a release once, however often it is called', async () => {
    const gate = new ConcurrencyGate();
    const release = await gate.acquire(policy);
    release!();
    release!();
    expect(gate.inFlight).toBe(0);
  });
});

describe('concurrency limit policy', () => {
  it('answers 503 to a request beyond the limit and the queue', async () => {
    const config: GatewayConfigInput = {
      services: [{ name: 'narrow', routes: [{ pathPrefix: '/narrow' }], instances: [{ url: scripted }], policies: { concurrency: { maxInFlight: 1, maxQueue: 0 } } }],
    };
    const [slow, refused] = await Promise.all([send(config, '/narrow/x?status=200&delay=300'), send(config, '/narrow/x?status=200')]);
    expect(slow.status).toBe(200);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ type: 'urn:edge-gateway:problem:concurrency-limit' });
  });

  it('lets a queued request through when a slot frees up in time', async () => {
    const config: GatewayConfigInput = {
      services: [{ name: 'queued', routes: [{ pathPrefix: '/queued' }], instances: [{ url: scripted }], policies: { concurrency: { maxInFlight: 1, maxQueue: 1, queueTimeoutMs: 5_000 } } }],
    };
    const responses = await Promise.all([send(config, '/queued/x?status=200&delay=100'), send(config, '/queued/x?status=200')]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
  });

  // The slot is taken before the breaker decides: a request the breaker then refuses never reaches forwarding,
  // and only answerWithProblem (src/policies/service-chain.ts) gives its slot back.
  it('gives the slot back when a later policy refuses the request, and when the forward fails', async () => {
    const config: GatewayConfigInput = {
      gateway: { statePlane: { syncIntervalMs: 60_000, callTimeoutMs: 1_000 } },
      services: [
        {
          name: 'held',
          routes: [{ pathPrefix: '/held' }],
          instances: [{ url: scripted }],
          retries: { attempts: 0 },
          policies: { concurrency: { maxInFlight: 1, maxQueue: 0 }, circuitBreaker: { minimumCalls: 4, failureRateThreshold: 0.5, openSeconds: 30 } },
        },
      ],
    };
    for (let i = 0; i < 4; i++) expect((await send(config, '/held/x?status=500')).status).toBe(500);
    // The next request carries the outcomes to the service object and brings back an open breaker.
    serviceStateClient('held').expire();
    await send(config, '/held/x?status=500');
    for (let i = 0; i < 3; i++) {
      const refused = await send(config, '/held/x?status=200');
      expect(await problemType(refused)).toBe('circuit-open');
      expect(concurrencyGateOf('held')!.inFlight).toBe(0);
    }

    const unreachable: GatewayConfigInput = {
      services: [{ name: 'gone', routes: [{ pathPrefix: '/gone' }], instances: [{ url: 'http://127.0.0.1:9' }], retries: { attempts: 0 }, policies: { concurrency: { maxInFlight: 1, maxQueue: 0 } } }],
    };
    for (let i = 0; i < 3; i++) {
      expect(await problemType(await send(unreachable, '/gone/x'))).toBe('upstream-unreachable');
      expect(concurrencyGateOf('gone')!.inFlight).toBe(0);
    }
  });
});
