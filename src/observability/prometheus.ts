/**
 * @module Prometheus text exposition, format 0.0.4, of the gateway's global figures. Every family has HELP and
 * TYPE; histogram buckets are cumulative with `le` in seconds and end with `+Inf`.
 */
import { statePlaneCounters } from '../state/infra/state-plane-metrics.ts';
import { breakerStateOf, instanceHealthy, type CollectedMetrics } from './collect-metrics.ts';
import { LATENCY_BUCKETS_MS } from './traffic-sums.ts';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label values escaped as the format requires: backslash, double quote and line feed. */
function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const entries = Object.entries(pairs);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}

class Exposition {
  readonly #lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, labelPairs: Record<string, string>, value: number): this {
    this.#lines.push(`${name}${labels(labelPairs)} ${Number.isFinite(value) ? value : 0}`);
    return this;
  }
  histogram(name: string, labelPairs: Record<string, string>, buckets: readonly number[], sumMs: number): this {
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      cumulative += buckets[i] ?? 0;
      this.sample(`${name}_bucket`, { ...labelPairs, le: String(bound / 1000) }, cumulative);
    });
    cumulative += buckets[LATENCY_BUCKETS_MS.length] ?? 0;
    this.sample(`${name}_bucket`, { ...labelPairs, le: '+Inf' }, cumulative);
    this.sample(`${name}_sum`, labelPairs, sumMs / 1000);
    return this.sample(`${name}_count`, labelPairs, cumulative);
  }
  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

/** The `/metrics` body. Counters are cumulative since each service's object first saw traffic. */
export function renderPrometheus(metrics: CollectedMetrics, version: string): string {
  const out = new Exposition();
  const { services, at } = metrics;

  out.family('gateway_requests_total', 'counter', 'Requests through the gateway, all isolates, by method, service and status.');
  for (const s of services) {
    for (const [key, n] of Object.entries(s.traffic.totals.requests).sort()) {
      const [method, status] = key.split(' ') as [string, string];
      out.sample('gateway_requests_total', { method, service: s.service, status }, n);
    }
  }
  out.family('gateway_request_outcomes_total', 'counter', 'Requests by how they ended (ok, upstream-error, timeout, rate-limited, breaker-open, ...).');
  for (const s of services) {
    for (const [outcome, n] of Object.entries(s.traffic.totals.outcomes).sort()) out.sample('gateway_request_outcomes_total', { service: s.service, outcome }, n);
  }
  out.family('gateway_request_duration_seconds', 'histogram', 'Total time at the gateway per request, from arrival to the decided response; the gateway\'s own 4xx refusals (the client\'s fault) are counted, not timed.');
  for (const s of services) out.histogram('gateway_request_duration_seconds', { service: s.service }, s.traffic.totals.latency, s.traffic.totals.latencySumMs);
  out.family('service_response_time_seconds', 'histogram', 'Time the origin took to answer with headers, summed over the attempts of a request.');
  for (const s of services) out.histogram('service_response_time_seconds', { service: s.service }, s.traffic.totals.upstream, s.traffic.totals.upstreamSumMs);
  out.family('gateway_request_bytes_total', 'counter', 'Declared body bytes (Content-Length) of requests and responses.');
  for (const s of services) {
    out.sample('gateway_request_bytes_total', { service: s.service, direction: 'in' }, s.traffic.totals.bytesIn);
    out.sample('gateway_request_bytes_total', { service: s.service, direction: 'out' }, s.traffic.totals.bytesOut);
  }
  out.family('gateway_rate_limited_total', 'counter', 'Requests refused with 429 by a rate limit.');
  for (const s of services) out.sample('gateway_rate_limited_total', { service: s.service }, s.traffic.totals.outcomes['rate-limited'] ?? 0);
  out.family('service_health_status', 'gauge', 'Instance health as known now: 1 healthy, 0 failing its active health checks, ejected, or behind an open breaker.');
  for (const s of services) for (const instance of s.instances) out.sample('service_health_status', { service: s.service, instance }, instanceHealthy(s, instance, at) ? 1 : 0);
  out.family('gateway_circuit_breaker_state', 'gauge', 'Circuit breaker state per service: 0 closed, 1 half-open, 2 open. Services without a breaker are absent.');
  for (const s of services) {
    const state = breakerStateOf(s, at);
    if (state !== 'disabled') out.sample('gateway_circuit_breaker_state', { service: s.service }, state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
  }
  out.family('gateway_state_plane_failures_total', 'counter', "Durable Object calls that failed after retries, by kind; counted by the isolate that answered this scrape.");
  for (const [kind, n] of Object.entries(statePlaneCounters.failures)) out.sample('gateway_state_plane_failures_total', { kind }, n);
  out.family('gateway_metrics_services_unavailable', 'gauge', 'Services whose state object did not answer this scrape (their series are missing).');
  out.sample('gateway_metrics_services_unavailable', {}, metrics.unavailable.length);
  out.family('gateway_build_info', 'gauge', 'Always 1; the version label names the running release.');
  out.sample('gateway_build_info', { version }, 1);
  return out.text();
}
