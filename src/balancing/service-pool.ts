/** @module One service's instances as this isolate sees them, and the choice among them. */
import type { ServiceConfig } from '../config/schema.ts';
import { RetryBudget } from '../proxy/retry-budget.ts';
import { InstanceState } from './instance-state.ts';
import { createBalancer, type Balancer } from './strategies.ts';

export class ServicePool {
  readonly instances: InstanceState[];
  readonly retryBudget: RetryBudget;
  readonly #balancer: Balancer;
  readonly service: ServiceConfig;

  constructor(service: ServiceConfig) {
    this.service = service;
    this.instances = service.instances.map((instance) => new InstanceState(instance));
    this.#balancer = createBalancer(service.loadBalancing.strategy, service.loadBalancing);
    this.retryBudget = new RetryBudget(service.retries.budgetRatio, service.retries.budgetMinPerSecond);
  }

  /**
   * Chooses an instance not in `tried`, preferring instances that are up. When every untried instance is down,
   * one of them is tried anyway (Envoy's "panic mode"): refusing all traffic is worse than trying a maybe-dead one.
   */
  choose(tried: ReadonlySet<InstanceState>, now: number): InstanceState | undefined {
    const untried = tried.size === 0 ? this.instances : this.instances.filter((instance) => !tried.has(instance));
    if (untried.length === 0) return undefined;
    const up = untried.filter((instance) => !instance.isDown(now));
    return this.#balancer.pick(up.length > 0 ? up : untried, now, tried.size > 0);
  }
}
