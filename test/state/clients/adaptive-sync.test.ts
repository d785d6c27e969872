import { describe, expect, it } from 'vitest';
import { ServicePool } from '../../../src/balancing/service-pool.ts';
import { parseGatewayConfig } from '../../../src/config/load.ts';
import { IsolateContext } from '../../../src/state/infra/isolate-context.ts';
import type { ServiceSnapshot } from '../../../src/state/protocol/service-state-protocol.ts';

const config = parseGatewayConfig({ services: [{ name: 'quiet', routes: [{ pathPrefix: '/quiet' }], instances: [{ url: 'https://origin.example.com' }] }] });
const snapshot: ServiceSnapshot = { at: 0, breaker: { state: 'closed', openUntil: 0 }, ejected: {}, inFlight: {}, rttMs: {} };

describe('adaptive sync', () => {
  it('doubles the wait after each sync with nothing new, up to four intervals, and syncs one interval after a failure', async () => {
    let now = 0;
    const isolate = new IsolateContext({ isolateId: 'quiet-isolate', now: () => now });
    const pool = new ServicePool(config.services[0]!, isolate);
    const syncs: number[] = [];
    const send = async () => (syncs.push(now), snapshot);
    const tick = async (at: number) => {
      now = at;
      await pool.state.syncIfDue(now, pool, 1_000, send);
    };
    for (let at = 0; at <= 12_000; at += 250) await tick(at);
    // Due at 0, then 2 s (quiet: 2 intervals), then 4 s apart (the cap).
    expect(syncs).toEqual([0, 2_000, 6_000, 10_000]);
    // A failure: due one interval after the last sync, not four.
    pool.recordOutcome(pool.instances[0]!, true, 10);
    await tick(11_000);
    expect(syncs.at(-1)).toBe(11_000);
  });
});
