/** @module The four ways to choose an instance. Each gets only candidates that are up and not yet tried. */
import type { BalancingStrategy } from '../config/schema.ts';
import type { InstanceState } from './instance-state.ts';

export interface Balancer {
  /**
   * Chooses one of `candidates` (never empty). A `retry` takes its pick without moving a rotation forward, so
   * retries don't shift which instance the next request's first attempt goes to.
   */
  pick(candidates: readonly InstanceState[], now: number, retry: boolean): InstanceState;
}

/** Each instance in turn. */
export function roundRobin(): Balancer {
  let next = 0;
  return {
    pick(candidates, _now, retry) {
      const chosen = candidates[next % candidates.length]!;
      if (!retry) next = (next + 1) % 1_000_000_007;
      return chosen;
    },
  };
}

/**
 * Smooth weighted round robin (nginx): weights 5:1:1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c, so no instance
 * takes a burst. Each pick adds every weight to its running total and subtracts the sum from the winner.
 */
export function weightedRoundRobin(): Balancer {
  return {
    pick(candidates, _now, retry) {
      if (retry) return candidates.reduce((best, instance) => (instance.weight > best.weight ? instance : best));
      let total = 0;
      let best = candidates[0]!;
      for (const instance of candidates) {
        instance.currentWeight += instance.weight;
        total += instance.weight;
        if (instance.currentWeight > best.currentWeight) best = instance;
      }
      best.currentWeight -= total;
      return best;
    },
  };
}

/**
 * Fewest in-flight requests per unit of weight, counted across isolates (this isolate's own, plus the others' as
 * of the last shared snapshot), chosen by the power of two choices: two random candidates are compared, so
 * isolates acting on slightly stale counts do not all herd onto the same "least loaded" instance.
 */
export function leastConnections(random: () => number = Math.random): Balancer {
  return {
    pick(candidates) {
      return powerOfTwoChoices(candidates, random, (instance) => instance.load() / instance.weight);
    },
  };
}

/**
 * Peak EWMA latency times outstanding requests (Finagle, Linkerd), by the power of two choices: fast instances get
 * more traffic, an instance that slows down loses it at once and wins it back gradually.
 */
export function latencyAware(decayMs: number, random: () => number = Math.random): Balancer {
  return {
    pick(candidates, now) {
      return powerOfTwoChoices(
        candidates,
        random,
        (instance) => (instance.rttEstimate(now, decayMs) * (instance.load() + 1)) / instance.weight,
      );
    },
  };
}

function powerOfTwoChoices(
  candidates: readonly InstanceState[],
  random: () => number,
  cost: (instance: InstanceState) => number,
): InstanceState {
  if (candidates.length === 1) return candidates[0]!;
  const first = Math.floor(random() * candidates.length);
  let second = Math.floor(random() * (candidates.length - 1));
  if (second >= first) second += 1;
  const a = candidates[first]!;
  const b = candidates[second]!;
  const costA = cost(a);
  const costB = cost(b);
  if (costA === costB) return random() < 0.5 ? a : b;
  return costA < costB ? a : b;
}

export function createBalancer(strategy: BalancingStrategy, options: { ewmaDecayMs: number }): Balancer {
  switch (strategy) {
    case 'round_robin':
      return roundRobin();
    case 'weighted_round_robin':
      return weightedRoundRobin();
    case 'least_connections':
      return leastConnections();
    case 'latency_aware':
      return latencyAware(options.ewmaDecayMs);
  }
}
