/** @module One service's instances as this isolate sees it, and the choice among them. */
import type { ServiceConfig } from '../config/schema.ts';
import { RetryBudget } from '../proxy/retry-budget.ts';
import { defaultIsolateContext, type IsolateContext } from '../state/infra/isolate-context.ts';
import type { ServiceStateClient } from '../state/clients/service-state-client.ts';
import type { ServiceStatePolicy } from '../state/protocol/service-state-protocol.ts';
import { InstanceState } from './instance-state.ts';
import { createBalancer, type Balancer } from './strategies.ts';

export class ServicePool {
  readonly instances: InstanceState[];
  readonly retryBudget: RetryBudget;
  readonly service: ServiceConfig;
  /** The service's shared state (breaker, ejections, global load) as this isolate knows it. */
  readonly state: ServiceStateClient;
  /** The policies the service's state object applies, in its units. */
  readonly statePolicy: ServiceStatePolicy;
  readonly #balancer: Balancer;
  /** Choices made in panic mode (every candidate down or unhealthy) in this isolate, for /health/services. */
  panicChoices = 0;

  /** `isolate`: the isolate this pool lives in (the Worker's own by default; the simulator passes one per simulated isolate). */
  constructor(service: ServiceConfig, isolate: IsolateContext = defaultIsolateContext) {
    this.service = service;
    this.instances = service.instances.map((instance) => new InstanceState(instance));
    this.#balancer = createBalancer(service.loadBalancing.strategy, service.loadBalancing);
    this.retryBudget = new RetryBudget(service.retries.budgetRatio, service.retries.budgetMinPerSecond);
    this.state = isolate.serviceState(service.name);
    const { circuitBreaker: breaker, outlierEjection: ejection } = service.policies;
    this.statePolicy = {
      breaker: breaker && { ...breaker, openMs: breaker.openSeconds * 1000 },
      ejection: {
        consecutiveFailures: ejection.consecutiveFailures,
        baseEjectionMs: ejection.baseEjectionSeconds * 1000,
        maxEjectionMs: ejection.maxEjectionSeconds * 1000,
        maxEjectionPercent: ejection.maxEjectionPercent,
      },
      instances: this.instances.map((instance) => instance.id),
    };
    // A new configuration version starts from what the isolate already knows about the service.
    if (this.state.snapshot) this.state.apply(this.state.snapshot, this, isolate.now());
  }

  /**
   * Chooses an instance not in `tried`, preferring instances that are up (not ejected, not cooling down after a
   * failed connection). When every untried instance is down, one of them is tried anyway (Envoy's "panic
   * mode"): refusing all traffic is worse than trying a maybe-dead instance.
   */
  choose(tried: ReadonlySet<InstanceState>, now: number): InstanceState | undefined {
    const untried = tried.size === 0 ? this.instances : this.instances.filter((instance) => !tried.has(instance));
    if (untried.length === 0) return undefined;
    // Usually every instance is up: then no filtered copy of the list per request.
    const up = untried.some((instance) => instance.isDown(now)) ? untried.filter((instance) => !instance.isDown(now)) : untried;
    if (up.length === 0) this.panicChoices += 1;
    return this.#balancer.pick(up.length > 0 ? up : untried, now, tried.size > 0);
  }

  /** Counts one attempt's outcome for the breaker and ejection (failed: 5xx, refused connection, timeout). */
  recordOutcome(instance: InstanceState, failed: boolean, latencyMs: number): void {
    this.state.record(instance.id, failed, latencyMs);
  }
}
