/**
 * @module `npm run simulate`: the edge-scale simulation (src/simulation/) for both modes, direct and tier.
 * First measures the objects' service times in workerd (scripts/simulate/measure-objects.ts), then runs the
 * scenario (by default the issue's target: 1,000 isolates, 50 locations, 100 services, 50,000 requests/s on the
 * busiest), prints a table and, as the last line, JSON with one object per mode. docs/scale.md explains the figures.
 *
 *   npm run simulate
 *   npm run simulate -- --isolates 200 --locations 20 --duration 30 --seed 7
 *   npm run simulate -- --sync-ms 2 --acquire-ms 2 --version-ms 0.05 --exchange-base-ms 0.2 --exchange-report-ms 0.02 --exchange-lease-ms 0.1   (skip the measurement)
 */
import { parseArgs } from 'node:util';
import { targetScenario, type Mode, type ModeResult, type Scenario, type ServiceTimes } from '../src/simulation/scenario.ts';
import { measureServiceTimes } from './simulate/measure-objects.ts';

const { values } = parseArgs({
  options: {
    isolates: { type: 'string' },
    locations: { type: 'string' },
    services: { type: 'string' },
    'busiest-rps': { type: 'string' },
    duration: { type: 'string' },
    seed: { type: 'string' },
    modes: { type: 'string', default: 'direct,tier' },
    'sync-ms': { type: 'string' },
    'acquire-ms': { type: 'string' },
    'version-ms': { type: 'string' },
    'exchange-base-ms': { type: 'string' },
    'exchange-report-ms': { type: 'string' },
    'exchange-lease-ms': { type: 'string' },
    shards: { type: 'string' },
  },
});

const number = (name: keyof typeof values): number | undefined => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got "${raw}"`);
  return n;
};

let serviceTimes: ServiceTimes;
const given = [number('sync-ms'), number('acquire-ms'), number('version-ms'), number('exchange-base-ms'), number('exchange-report-ms'), number('exchange-lease-ms')];
if (given.every((n) => n !== undefined)) {
  const [syncMs, acquireMs, versionMs, exchangeBaseMs, exchangePerReportMs, exchangePerLeaseMs] = given as number[];
  serviceTimes = { syncMs: syncMs!, acquireMs: acquireMs!, versionMs: versionMs!, exchangeBaseMs: exchangeBaseMs!, exchangePerReportMs: exchangePerReportMs!, exchangePerLeaseMs: exchangePerLeaseMs! };
  console.log('service times given on the command line (ms):', serviceTimes);
} else {
  process.stdout.write('measuring the objects in workerd... ');
  const measured = await measureServiceTimes();
  serviceTimes = measured;
  console.log(
    `ServiceState.sync ${measured.syncMs} ms, RateLimitBucket.acquire ${measured.acquireMs} ms, ServiceRegistry.version ${measured.versionMs} ms, ` +
      `ServiceRegion.exchange ${measured.exchangeOneMs} ms with 1 report, ${measured.exchangeHundredMs} ms with 100 (${measured.hundredReportBytes} bytes), ${measured.exchangeLeaseMs} ms with a lease ask ` +
      `=> base ${measured.exchangeBaseMs} + ${measured.exchangePerReportMs}/report + ${measured.exchangePerLeaseMs}/lease ` +
      `(median of ${measured.calls / 10}-call rounds; reports of ${measured.requestsPerReport} requests, ${measured.reportBytes} bytes)`,
  );
}

const scenario = targetScenario(serviceTimes);
scenario.isolates = number('isolates') ?? scenario.isolates;
scenario.locations = number('locations') ?? scenario.locations;
scenario.services = number('services') ?? scenario.services;
scenario.busiestRps = number('busiest-rps') ?? scenario.busiestRps;
scenario.durationS = number('duration') ?? scenario.durationS;
scenario.seed = number('seed') ?? scenario.seed;
scenario.shardsPerRegion = number('shards') ?? scenario.shardsPerRegion;
const modes = values.modes.split(',').map((m) => m.trim()) as Mode[];
for (const mode of modes) if (mode !== 'direct' && mode !== 'tier') throw new Error(`--modes: expected direct and/or tier, got "${mode}"`);

console.log(
  `scenario: ${scenario.isolates} isolates, ${scenario.locations} locations, ${scenario.services} services, ${scenario.busiestRps} req/s on the busiest ` +
    `(limit ${scenario.rateLimit.limit}/${scenario.rateLimit.windowSeconds} s, burst ${scenario.rateLimit.burst}), ${scenario.failingRps} req/s on the failing one ` +
    `(fails from ${scenario.failAtS} s), registry change at ${scenario.registryChangeAtS} s, ${scenario.durationS} s simulated, seed ${scenario.seed}`,
);
// Loaded by a computed path so that `tsc -p tsconfig.node.json` does not type the Worker's modules with Node's
// types (they are checked with the Worker's, by tsconfig.json).
const simulatorPath = '../src/simulation/simulator.ts';
const { simulate } = (await import(simulatorPath)) as { simulate: (scenario: Scenario, mode: Mode) => Promise<ModeResult> };
const results: Partial<Record<Mode, ModeResult>> = {};
for (const mode of modes) {
  const started = Date.now();
  results[mode] = await simulate(scenario, mode);
  console.log(`${mode}: ${((Date.now() - started) / 1000).toFixed(1)} s of wall time`);
}

const rows: [string, keyof ModeResult, string][] = [
  ['busiest object', 'busiest_object', ''],
  ['busiest object, requests/s, peak', 'busiest_object_rps_peak', '≤ 500'],
  ['busiest object, requests/s, p99 over time', 'busiest_object_rps_p99', '≤ 500'],
  ['busiest object, busy share of each second, p99', 'busiest_object_busy_p99', '≤ 0.5'],
  ['most called object', 'most_called_object', ''],
  ['most called object, requests/s, p99 over time', 'most_called_object_rps_p99', '≤ 500'],
  ['admitted ÷ (limit + burst), worst window', 'max_window_admitted_over_allowed', '≤ 1'],
  ['admitted ÷ limit while demand exceeds it', 'utilisation', '≥ 0.95'],
  ['admitted after the breaker opened, s of traffic', 'admitted_after_breaker_open_s', '≤ 3'],
  ['99% of isolates see the breaker open, s', 'breaker_open_seen_p99_s', ''],
  ['99% of isolates see a registry change, s', 'registry_change_p99_s', '≤ 10'],
  ["fresh isolate's first request, added ms (p99)", 'first_request_added_ms', 'no cross-region RTT'],
  ['Durable Object calls per request', 'do_calls_per_request', '≤ 0.02'],
  ['requests counted by the global sums ÷ handled', 'traffic_counted_ratio', ''],
  ['calls that fell back to direct', 'region_fallbacks', ''],
  ['region objects to global objects, calls/s', 'region_to_global_calls_per_s', ''],
  ['reports per exchange call (mean)', 'reports_per_exchange', ''],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log(`\n${'figure'.padEnd(width)}  ${modes.map((m) => m.padStart(14)).join('  ')}  target`);
for (const [label, key, target] of rows) console.log(`${label.padEnd(width)}  ${modes.map((m) => String(results[m]![key]).padStart(14)).join('  ')}  ${target}`);
console.log(JSON.stringify(results));
