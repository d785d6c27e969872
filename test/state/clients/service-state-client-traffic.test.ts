/** The isolate's side of the sync protocol's traffic part: nothing recorded is dropped or counted twice. */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ServicePool } from '../../../src/balancing/service-pool.ts';
import { parseGatewayConfig } from '../../../src/config/load.ts';
import type { RequestSample } from '../../../src/observability/traffic-sums.ts';
import { ServiceStateClient } from '../../../src/state/clients/service-state-client.ts';
import type { ServiceSnapshot, SyncReport } from '../../../src/state/protocol/service-state-protocol.ts';

function poolFor(name: string): ServicePool {
  const config = parseGatewayConfig({ services: [{ name, routes: [{ pathPrefix: `/${name}` }], instances: [{ url: 'http://127.0.0.1:9' }] }] });
  return new ServicePool(config.services[0]!);
}

const ok: RequestSample = { method: 'GET', status: 200, outcome: 'ok', latencyMs: 12, upstreamMs: 10, bytesIn: 0, bytesOut: 5 };

/** Sends to the real object, failing on cue: before the object sees the report, or after it applied it. */
function flakySender(service: string) {
  const plan: ('ok' | 'fail-before' | 'lose-answer')[] = [];
  let calls = 0;
  const send = async (report: SyncReport): Promise<ServiceSnapshot> => {
    calls += 1;
    const step = plan.shift() ?? 'ok';
    if (step === 'fail-before') throw Object.assign(new Error('network'), { retryable: false });
    const snapshot = await env.SERVICE_STATE.getByName(service).sync(structuredClone(report));
    if (step === 'lose-answer') throw new Error('timed out after the object applied it');
    return snapshot;
  };
  return { plan, send, calls: () => calls };
}

describe('ServiceStateClient traffic reports', () => {
  it('merges a report whose call failed into the next one: counts stay exact', async () => {
    const pool = poolFor('client-fail-once');
    const client = new ServiceStateClient();
    const sender = flakySender('client-fail-once');
    sender.plan.push('fail-before');
    for (let i = 0; i < 5; i++) client.recordRequest(ok, Date.now());
    await client.syncNow(pool, sender.send);
    expect(client.hasPendingTraffic).toBe(true);
    for (let i = 0; i < 3; i++) client.recordRequest({ ...ok, status: 503, outcome: 'breaker-open', upstreamMs: undefined }, Date.now());
    await client.syncNow(pool, sender.send);
    expect(client.hasPendingTraffic).toBe(false);
    const summary = await env.SERVICE_STATE.getByName('client-fail-once').windowSummary(120);
    expect(summary).toMatchObject({ requests: 8, errors: 3 });
  });

  it('counts a batch once when the object applied it but its answer was lost', async () => {
    const pool = poolFor('client-lost-answer');
    const client = new ServiceStateClient();
    const sender = flakySender('client-lost-answer');
    sender.plan.push('lose-answer');
    for (let i = 0; i < 4; i++) client.recordRequest(ok, Date.now());
    await client.syncNow(pool, sender.send);
    client.recordRequest(ok, Date.now());
    await client.syncNow(pool, sender.send);
    expect((await env.SERVICE_STATE.getByName('client-lost-answer').windowSummary(120)).requests).toBe(5);
  });

  it('gives the breaker\'s outcomes of a failed report back to the next one', async () => {
    const pool = poolFor('client-outcomes');
    const client = new ServiceStateClient();
    const reports: SyncReport[] = [];
    let fail = true;
    const send = async (report: SyncReport): Promise<ServiceSnapshot> => {
      reports.push(structuredClone(report));
      if (fail) {
        fail = false;
        throw new Error('unreachable');
      }
      return env.SERVICE_STATE.getByName('client-outcomes').sync(report);
    };
    const instance = pool.instances[0]!.id;
    client.record(instance, true, 10);
    client.record(instance, true, 10);
    await client.syncNow(pool, send);
    client.record(instance, true, 10);
    await client.syncNow(pool, send);
    expect(reports[1]!.service).toEqual({ calls: 3, failures: 3, trailingFailures: 3, hadSuccess: false });
    expect(reports[1]!.instances[instance]).toMatchObject({ calls: 3, failures: 3, latencySumMs: 30 });
  });

  it('sends what is pending when traffic stops (trailing flush), with one call for a burst', async () => {
    const pool = poolFor('client-trailing');
    const client = new ServiceStateClient();
    const sender = flakySender('client-trailing');
    const intervalMs = 100;
    // The first request of the burst syncs at once (nothing is due yet for its own sample, which comes after).
    expect(client.syncIfDue(Date.now(), pool, intervalMs, sender.send)).toBeDefined();
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      client.recordRequest(ok, Date.now());
      const flush = client.trailingFlush(pool, intervalMs, sender.send);
      if (flush) flushes.push(flush);
    }
    // One flush waits for the whole burst.
    expect(flushes).toHaveLength(1);
    await Promise.all(flushes);
    expect(client.hasPendingTraffic).toBe(false);
    expect(sender.calls()).toBe(2);
    expect((await env.SERVICE_STATE.getByName('client-trailing').windowSummary(120)).requests).toBe(20);
  });

  it('makes a sync due once a batch of requests is pending, before the interval is over', () => {
    const pool = poolFor('client-batch');
    const client = new ServiceStateClient();
    const send = async () => ({ at: 0, breaker: { state: 'closed' as const, openUntil: 0 }, ejected: {}, inFlight: {}, rttMs: {} });
    const now = Date.now();
    client.syncIfDue(now, pool, 60_000, send);
    expect(client.syncIfDue(now + 1, pool, 60_000, send)).toBeUndefined();
    for (let i = 0; i < 500; i++) client.recordRequest(ok, now);
    return new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => {
      expect(client.syncIfDue(now + 2, pool, 60_000, send)).toBeDefined();
    });
  });
});
