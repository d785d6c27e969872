/**
 * @module Concurrency limit policy: at most `maxInFlight` requests to a service at once from this isolate; up to
 * `maxQueue` more wait (in arrival order) up to `queueTimeoutMs` for a slot, the rest get 503 at once.
 */
import type { ServiceConfig } from '../config/schema.ts';
import { GatewayError } from '../errors/problem.ts';
import type { ServicePolicy } from './service-chain.ts';

type ConcurrencyPolicy = NonNullable<ServiceConfig['policies']['concurrency']>;

/** Waiting requests look for a free slot this often. */
const QUEUE_POLL_MS = 2;

/**
 * A counting semaphore with a bounded, time-limited FIFO queue. A waiting request is never woken by the request
 * that frees a slot: in Workers a promise resolved by another request resumes the waiter in that request's
 * context, where its own I/O fails. Waiters look for a slot on their own timers instead, oldest first.
 */
export class ConcurrencyGate {
  inFlight = 0;
  /**
   * Waiting requests, oldest first, each with its deadline. A waiter whose client disconnected may never run again
   * (workerd cancels the request), so it cannot be trusted to remove itself: an entry past its deadline is dead,
   * and others skip and drop it. A vanished waiter blocks the queue for at most `queueTimeoutMs`.
   */
  readonly #waiting: { ticket: number; deadline: number }[] = [];
  #nextTicket = 0;

  get queued(): number {
    this.#dropExpired(Date.now());
    return this.#waiting.length;
  }

  /**
   * Resolves with a release function once a slot is held; resolves undefined when refused. A waiter whose client
   * has gone (`abandoned` aborted) leaves the queue at its next look and resolves undefined.
   */
  async acquire(policy: ConcurrencyPolicy, abandoned?: AbortSignal): Promise<(() => void) | undefined> {
    const free = this.tryHold(policy);
    if (free) return free;
    if (this.#waiting.length >= policy.maxQueue || policy.queueTimeoutMs === 0) return undefined;
    const entry = { ticket: this.#nextTicket++, deadline: Date.now() + policy.queueTimeoutMs };
    this.#waiting.push(entry);
    try {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, QUEUE_POLL_MS));
        if (abandoned?.aborted) return undefined;
        const now = Date.now();
        if (now >= entry.deadline) return undefined;
        this.#dropExpired(now);
        if (this.#waiting[0] === entry && this.inFlight < policy.maxInFlight) return this.#hold();
      }
    } finally {
      const index = this.#waiting.indexOf(entry);
      if (index !== -1) this.#waiting.splice(index, 1);
    }
  }

  /** A slot at once, when one is free and nobody waits for it: the release function; undefined otherwise. */
  tryHold(policy: ConcurrencyPolicy): (() => void) | undefined {
    return this.inFlight < policy.maxInFlight && this.queued === 0 ? this.#hold() : undefined;
  }

  #dropExpired(now: number): void {
    for (let i = this.#waiting.length - 1; i >= 0; i--) if (this.#waiting[i]!.deadline <= now) this.#waiting.splice(i, 1);
  }

  #hold(): () => void {
    this.inFlight += 1;
    let released = false;
    // A release that counts once, however often it is called.
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
    };
  }
}

const gates = new Map<string, ConcurrencyGate>();

/** This isolate's gate for `service`, if a request to it has used one (for the admin API's load-balancing view). */
export function concurrencyGateOf(service: string): ConcurrencyGate | undefined {
  return gates.get(service);
}

/**
 * Holds a slot for the request: at once when one is free, else in the queue. The slot is held until the response
 * body has been delivered (or the client left): forwarding calls `releaseOnDelivery` then. When no response is
 * forwarded (a refusal of a later policy, a failed forward), it is released as soon as the answer is known.
 */
export const concurrencyLimit: ServicePolicy = {
  appliesTo: (service) => service.policies.concurrency !== undefined,
  phase: 'concurrency',
  admit(c) {
    const { service } = c.get('route');
    const policy = service.policies.concurrency!;
    let gate = gates.get(service.name);
    if (!gate) gates.set(service.name, (gate = new ConcurrencyGate()));
    // The slot is released when the response body has been delivered, or at once when the request is answered
    // with a problem (answerWithProblem in service-chain.ts): nothing is left for the policy to do afterwards.
    const free = gate.tryHold(policy);
    if (free) return void c.set('releaseOnDelivery', free);
    return gate.acquire(policy, c.req.raw.signal).then((release) => {
      if (!release) throw new GatewayError('concurrency-limit', { service: service.name }, { headers: { 'retry-after': '1' } });
      c.set('releaseOnDelivery', release);
    });
  },
};
