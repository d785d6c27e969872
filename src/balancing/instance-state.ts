/** @module What this isolate knows about one origin instance: in-flight requests, latency, recent failures. */
import type { InstanceConfig } from '../config/schema.ts';

/** Latency assumed for an instance with no sample yet, as Linkerd's peak-EWMA balancer does (its default RTT). */
export const DEFAULT_RTT_MS = 30;

export class InstanceState {
  readonly id: string;
  readonly weight: number;
  /** Scheme, host, port and base path (no trailing slash): the forwarded path is appended to it. */
  readonly base: string;
  /** Requests sent and not yet finished (body included) from this isolate. */
  inFlight = 0;
  /** Running weight of smooth weighted round robin. */
  currentWeight = 0;
  /** Requests in flight at this instance from other isolates, as of the last shared snapshot. */
  othersInFlight = 0;
  /** Until when this isolate skips the instance after a connect failure or timeout (epoch ms). */
  downUntil = 0;
  /** Until when the instance is ejected, service-wide, by outlier detection (epoch ms; 0 = not ejected). */
  ejectedUntil = 0;
  consecutiveFailures = 0;
  /** Failing its active health checks, service-wide (from the shared snapshot). */
  unhealthy = false;
  #rttEstimateMs = 0;
  #rttUpdatedAt = 0;
  #hasRtt = false;

  constructor(config: InstanceConfig) {
    this.id = config.id!;
    this.weight = config.weight;
    const url = new URL(config.url);
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  }

  /**
   * Peak EWMA latency (as tower's and Finagle's balancers): a slower sample replaces the estimate at once, faster
   * ones pull it down gradually, and with no samples it decays toward zero so an idle instance gets tried again.
   */
  rttEstimate(now: number, decayMs: number): number {
    if (!this.#hasRtt) return DEFAULT_RTT_MS;
    return this.#rttEstimateMs * Math.exp(-Math.max(0, now - this.#rttUpdatedAt) / decayMs);
  }

  observeRtt(rttMs: number, now: number, decayMs: number): void {
    const decayed = this.rttEstimate(now, decayMs);
    const weight = Math.exp(-Math.max(0, now - this.#rttUpdatedAt) / decayMs);
    this.#rttEstimateMs = !this.#hasRtt || rttMs > decayed ? rttMs : decayed * weight + rttMs * (1 - weight);
    this.#rttUpdatedAt = now;
    this.#hasRtt = true;
  }

  /** Requests in flight at this instance from every isolate: this one's exact count plus the others' last report. */
  load(): number {
    return this.inFlight + this.othersInFlight;
  }

  /** Takes the service-wide latency estimate; this isolate's own samples keep refining it until the next one. */
  adoptSharedRtt(rttMs: number, now: number): void {
    this.#rttEstimateMs = rttMs;
    this.#rttUpdatedAt = now;
    this.#hasRtt = true;
  }

  isDown(now: number): boolean {
    return this.downUntil > now || this.ejectedUntil > now || this.unhealthy;
  }

  markFailure(now: number, cooldownMs: number): void {
    this.consecutiveFailures += 1;
    this.downUntil = now + cooldownMs;
  }

  markSuccess(): void {
    this.consecutiveFailures = 0;
    this.downUntil = 0;
  }
}
