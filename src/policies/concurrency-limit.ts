/**
 * @module Concurrency limit policy: at most `maxInFlight` requests to a service at once from this isolate; up to
 * `maxQueue` more wait (in arrival order) up to `queueTimeoutMs` for a slot, the rest get 503 at once.
 */
import type { MiddlewareHandler } from 'hono';
import type { ServiceConfig } from '../config/schema.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';

type ConcurrencyPolicy = NonNullable<ServiceConfig['policies']['concurrency']>;

/** A counting semaphore with a bounded, time-limited FIFO queue. */
export class ConcurrencyGate {
  inFlight = 0;
  readonly #waiting: { admit: () => void }[] = [];

  get queued(): number {
    return this.#waiting.length;
  }

  /** Resolves with a release function once a slot is held; resolves undefined when refused. */
  async acquire(policy: ConcurrencyPolicy): Promise<(() => void) | undefined> {
    if (this.inFlight < policy.maxInFlight) return this.#hold();
    if (this.#waiting.length >= policy.maxQueue || policy.queueTimeoutMs === 0) return undefined;
    const admitted = await new Promise<boolean>((resolve) => {
      const entry = { admit: () => resolve(true) };
      this.#waiting.push(entry);
      setTimeout(() => {
        const index = this.#waiting.indexOf(entry);
        if (index !== -1) {
          this.#waiting.splice(index, 1);
          resolve(false);
        }
      }, policy.queueTimeoutMs);
    });
    // The slot was handed over by a release without being given back in between.
    return admitted ? this.#releaser() : undefined;
  }

  #hold(): () => void {
    this.inFlight += 1;
    return this.#releaser();
  }

  /** A release that counts once, however often it is called. */
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release();
    };
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next.admit();
    else this.inFlight -= 1;
  }
}

const gates = new Map<string, ConcurrencyGate>();

export function concurrencyLimit(): MiddlewareHandler<AppEnv> {
  return async function concurrencyLimit(c, next) {
    const { service } = c.get('route');
    const policy = service.policies.concurrency;
    if (!policy) return next();
    let gate = gates.get(service.name);
    if (!gate) gates.set(service.name, (gate = new ConcurrencyGate()));
    const release = await gate.acquire(policy);
    if (!release) throw new GatewayError('concurrency-limit', { service: service.name }, { headers: { 'retry-after': '1' } });
    try {
      await next();
    } finally {
      release();
    }
  };
}
