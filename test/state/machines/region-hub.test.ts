import { describe, expect, it } from 'vitest';
import { RegionHub, type RegionGlobalCalls } from '../../../src/state/machines/region-hub.ts';
import { isPartFailed } from '../../../src/state/protocol/region-exchange-protocol.ts';
import type { ServiceSnapshot, SyncReport } from '../../../src/state/protocol/service-state-protocol.ts';

const settings = { callTimeoutMs: 1_000, syncIntervalMs: 1_000, blockFactor: 4 };

function report(serviceName: string, failures: number): SyncReport {
  return {
    isolateId: 'isolate-1',
    policy: { ejection: { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 }, instances: ['a'] },
    service: { calls: 5 + failures, failures, trailingFailures: failures, hadSuccess: true },
    instances: {},
    version: 2,
    serviceName,
  };
}

/** Global objects that answer at once and count the region's syncs per service; `failing` ones throw. */
function globalObjects(failing: Record<string, Error> = {}): RegionGlobalCalls & { syncs: Record<string, number>; reported: SyncReport[] } {
  const syncs: Record<string, number> = {};
  const reported: SyncReport[] = [];
  return {
    syncs,
    reported,
    sync: async (service, sent) => {
      syncs[service] = (syncs[service] ?? 0) + 1;
      if (failing[service]) throw failing[service];
      reported.push(sent);
      return { at: 0, breaker: { state: 'closed', openUntil: 0 }, ejected: {}, inFlight: {}, rttMs: {}, trafficAckedSeq: 0 } satisfies ServiceSnapshot;
    },
    leaseBlock: () => Promise.reject(new Error('no bucket here')),
  };
}

describe('RegionHub: adaptive sync with the global objects', () => {
  it('reports a quiet service after four sync intervals and one with failures after one', async () => {
    let now = 0;
    const hub = new RegionHub('_all@weur#0');
    const global = globalObjects();
    const exchange = (failures: number) => hub.exchange({ isolateId: 'isolate-1', reports: [report('quiet', 0), report('failing', failures)], leases: [] }, settings, () => now, global);
    await exchange(3);
    // The first report of each service fetched its first snapshot.
    expect(global.syncs).toEqual({ quiet: 1, failing: 1 });
    now = 1_100;
    await exchange(3);
    expect(global.syncs).toEqual({ quiet: 1, failing: 2 });
    // Failures again, but within an interval of the last report: they wait.
    now = 1_500;
    await exchange(3);
    expect(global.syncs).toEqual({ quiet: 1, failing: 2 });
    // An interval after the last report, the waiting failures go up even though this call brings none.
    now = 2_100;
    await exchange(0);
    expect(global.syncs).toEqual({ quiet: 1, failing: 3 });
    now = 3_300;
    await exchange(0);
    expect(global.syncs).toEqual({ quiet: 1, failing: 3 });
    // Four intervals after its last report, the quiet service's sums go up; the other's four intervals after 2.1 s.
    now = 4_100;
    await exchange(0);
    expect(global.syncs).toEqual({ quiet: 2, failing: 3 });
    now = 6_100;
    await exchange(0);
    expect(global.syncs).toEqual({ quiet: 2, failing: 4 });
  });

  it("answers a part failed when a service's global object fails before the region has its snapshot, and keeps no sums of it", async () => {
    const overloaded = Object.assign(new Error('queue full'), { overloaded: true });
    const global = globalObjects({ down: new Error('unreachable'), busy: overloaded });
    const hub = new RegionHub('_all@weur#1');
    const answer = await hub.exchange({ isolateId: 'isolate-1', reports: [report('down', 2), report('busy', 0), report('fine', 0)], leases: [] }, settings, () => 0, global);
    expect(answer.snapshots[0]).toEqual({ failed: true, overloaded: false });
    expect(answer.snapshots[1]).toEqual({ failed: true, overloaded: true });
    expect(isPartFailed(answer.snapshots[2]!)).toBe(false);
    // The isolate sends the failed parts itself: the region took nothing of them, so nothing is counted twice.
    expect(hub.serviceCount).toBe(3);
    const later = globalObjects();
    await hub.exchange({ isolateId: 'isolate-2', reports: [report('down', 0)], leases: [] }, settings, () => 10_000, later);
    const firstReport = later.reported.find((r) => r.isolateId === 'region:_all@weur#1/down')!;
    expect(firstReport.service.calls).toBe(0);
  });
});
