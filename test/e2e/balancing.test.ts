import { once, EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BalancingStrategy } from '../../src/config/schema.ts';
import { rawRequest, startGateway, type RunningGateway } from './harness.ts';
import { answer, startOrigin, type TestOrigin } from './origins.ts';

let gateway: RunningGateway;
let a: TestOrigin;
let b: TestOrigin;
let c: TestOrigin;
let holding: TestOrigin;
let slow: TestOrigin;
const held: ServerResponse[] = [];
const arrivals = new EventEmitter();

beforeAll(async () => {
  [a, b, c] = await Promise.all([startOrigin(answer('a')), startOrigin(answer('b')), startOrigin(answer('c'))]);
  // Keeps every request open until the test releases it, so its in-flight count only grows.
  holding = await startOrigin((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    held.push(res);
    arrivals.emit('held');
  });
  // 150 ms: far enough above the fast origin's latency that a busy machine's jitter cannot blur the two.
  slow = await startOrigin((req, res) => setTimeout(() => answer('slow')(req, res), 150));
  const service = (name: string, strategy: BalancingStrategy, instances: { id: string; url: string; weight?: number }[]) => ({
    name,
    routes: [{ pathPrefix: `/${name}` }],
    instances,
    loadBalancing: { strategy },
  });
  gateway = await startGateway({
    services: [
      service('rr', 'round_robin', [{ id: 'a', url: a.url }, { id: 'b', url: b.url }, { id: 'c', url: c.url }]),
      service('wrr', 'weighted_round_robin', [{ id: 'a', url: a.url, weight: 3 }, { id: 'b', url: b.url, weight: 1 }]),
      service('lc', 'least_connections', [{ id: 'holding', url: holding.url }, { id: 'b', url: b.url }]),
      service('rr-held', 'round_robin', [{ id: 'holding', url: holding.url }, { id: 'b', url: b.url }]),
      service('ewma', 'latency_aware', [{ id: 'slow', url: slow.url }, { id: 'b', url: b.url }]),
    ],
  });
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await gateway?.stop();
  await Promise.all([a, b, c, holding, slow].map((origin) => origin?.close()));
});

async function originsOf(path: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push((await rawRequest(gateway.url, path)).json<{ origin: string }>().origin);
  return names;
}

function tally(names: string[]): Record<string, number> {
  return names.reduce<Record<string, number>>((counts, name) => ({ ...counts, [name]: (counts[name] ?? 0) + 1 }), {});
}

/**
 * Sends `count` requests one after another; each is either answered or held open by the holding origin before the
 * next is sent. Returns how many the holding origin took.
 */
async function heldShare(path: string, count: number): Promise<number> {
  const before = held.length;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const response = rawRequest(gateway.url, path);
    pending.push(response.catch(() => undefined));
    await Promise.race([response, once(arrivals, 'held')]);
  }
  const taken = held.length - before;
  for (const res of held.splice(before)) res.end(JSON.stringify({ origin: 'holding' }));
  await Promise.all(pending);
  return taken;
}

describe('balancing strategies, measured at the origins', () => {
  it('round robin spreads requests evenly', async () => {
    expect(tally(await originsOf('/rr/x', 30))).toEqual({ a: 10, b: 10, c: 10 });
  });

  it('smooth weighted round robin follows the weights, interleaved', async () => {
    const names = await originsOf('/wrr/x', 40);
    expect(tally(names)).toEqual({ a: 30, b: 10 });
    expect(names.slice(0, 4)).toEqual(['a', 'a', 'b', 'a']);
  });

  it('least connections avoids the instance with requests still in flight', async () => {
    // Round robin, for contrast, keeps feeding the instance that holds its requests.
    expect(await heldShare('/rr-held/x', 10)).toBe(5);
    expect(await heldShare('/lc/x', 10)).toBeLessThanOrEqual(1);
  });

  it('latency aware sends most traffic to the faster instance', async () => {
    const counts = tally(await originsOf('/ewma/x', 40));
    expect(counts.b ?? 0).toBeGreaterThanOrEqual(36);
  });
});
