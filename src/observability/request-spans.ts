/**
 * @module The read plane's per-request record of I/O: one object per request (in the Hono context), filled by the
 * phases that wait on something (policies' state calls and key fetches, timed by src/policies/service-chain.ts;
 * upstream attempts).
 *
 * Deployed Workers advance `Date.now()` only across I/O (a timing side-channel defence), so a span measures the
 * I/O a phase waited for; CPU-only work reads 0 there, and locally it reads what it took.
 */

export interface Span {
  /** `upstream`, or the phase: `config`, `auth`, `rate-limit`, `concurrency`, `circuit-breaker`. */
  name: string;
  /** Epoch ms. */
  start: number;
  durationMs: number;
  attributes?: Record<string, string | number>;
}

/** Filled in along the chain, read once by the recording point. */
export interface RequestObservation {
  /** The instance that gave the answer (or the last tried). */
  instance?: string;
  attempts: number;
  /** Time from sending each attempt to its response headers, summed over attempts; a download's body is not in it. */
  upstreamMs: number;
  spans: Span[];
}

export function newObservation(): RequestObservation {
  return { attempts: 0, upstreamMs: 0, spans: [] };
}

/** One upstream attempt: which instance, which try, and how it ended (a status or `timeout`/`connect-failure`). */
export function recordAttempt(observation: RequestObservation, instance: string, attempt: number, start: number, result: number | string): void {
  const durationMs = Date.now() - start;
  observation.instance = instance;
  observation.attempts = attempt;
  observation.upstreamMs += durationMs;
  observation.spans.push({ name: 'upstream', start, durationMs, attributes: { instance, attempt, result } });
}

/**
 * The `Server-Timing` value (W3C Server Timing): upstream time, each gateway phase that waited, and the total.
 * Names are fixed tokens and durations numbers, so no header injection is possible.
 */
export function serverTiming(observation: RequestObservation, totalMs: number): string {
  // Most requests waited on nothing but the origin: no map, no list.
  if (observation.spans.every((span) => span.name === 'upstream')) return `upstream;dur=${observation.upstreamMs}, total;dur=${totalMs}`;
  const byPhase = new Map<string, number>();
  for (const span of observation.spans) byPhase.set(span.name, (byPhase.get(span.name) ?? 0) + span.durationMs);
  const parts = [`upstream;dur=${observation.upstreamMs}`];
  for (const [name, ms] of byPhase) if (name !== 'upstream') parts.push(`${name};dur=${ms}`);
  parts.push(`total;dur=${totalMs}`);
  return parts.join(', ');
}
