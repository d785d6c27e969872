/**
 * @module What one isolate keeps between requests for the state plane, gathered in one object instead of module
 * variables: its id, its service-state clients, its counters and its clock. The Worker uses the one default
 * context; the simulator (src/simulation/) makes one per simulated isolate, all on a virtual clock.
 */
import type { LocationHint } from './location-hints.ts';
import { RegionFailover } from '../machines/region-failover.ts';
import { ServiceStateClient } from '../clients/service-state-client.ts';
import { RegionExchangeClient } from '../clients/region-exchange.ts';
import { statePlaneCounters, type StatePlaneCounters } from './state-plane-metrics.ts';

export interface IsolateContextOptions {
  /** Fixed id (the simulator names its isolates); by default a random UUID made on first use. */
  isolateId?: string;
  /** The clock, in epoch ms; `Date.now` in the Worker, the simulation's virtual clock otherwise. */
  now?: () => number;
  counters?: StatePlaneCounters;
}

export class IsolateContext {
  readonly now: () => number;
  readonly counters: StatePlaneCounters;
  readonly #serviceStates = new Map<string, ServiceStateClient>();
  readonly #regionFailovers = new Map<string, RegionFailover>();
  #isolateId: string | undefined;
  #regionExchange: RegionExchangeClient | undefined;
  /** The region this isolate runs in (location tier), once a request told; undefined locally. */
  locationHint: LocationHint | undefined;
  /** Whether a request's `cf` has been looked at yet. */
  placeKnown = false;

  constructor(options: IsolateContextOptions = {}) {
    this.#isolateId = options.isolateId;
    this.now = options.now ?? Date.now;
    this.counters = options.counters ?? structuredClone(statePlaneCounters);
  }

  /** Identifies this isolate to the service objects, so each can sum in-flight counts over isolates. */
  get isolateId(): string {
    // Made lazily: Workers refuse to generate random values in global scope, where the default context is built.
    return (this.#isolateId ??= crypto.randomUUID());
  }

  /** Whether to call region object `name` or go direct (after it failed), with `backoffMs` of direct calls. */
  regionFailover(name: string, backoffMs: number): RegionFailover {
    let failover = this.#regionFailovers.get(name);
    if (!failover) this.#regionFailovers.set(name, (failover = new RegionFailover(backoffMs)));
    return failover;
  }

  /** This isolate's batched exchange with its region's object `name` (one per isolate: its region and shard are fixed). */
  regionExchange(name: string, backoffMs: number): RegionExchangeClient {
    return (this.#regionExchange ??= new RegionExchangeClient(this, this.regionFailover(name, backoffMs)));
  }

  /** The client for `service` in this isolate; it outlives configuration changes. */
  serviceState(service: string): ServiceStateClient {
    let client = this.#serviceStates.get(service);
    if (!client) this.#serviceStates.set(service, (client = new ServiceStateClient(this)));
    return client;
  }
}

/** The Worker's own isolate: the one context its modules use unless given another. */
export const defaultIsolateContext = new IsolateContext({ counters: statePlaneCounters });
