/**
 * @module The service's policies as one step of the chain: for each configuration version and service, the list of the
 * policies that can act on its requests is worked out once, and a request runs only those. A policy that is off
 * for a service costs that service's requests nothing, not even a layer of dispatch.
 *
 * A policy is a gate, not a middleware: `admit` decides before the request is forwarded and returns a promise only
 * when it must wait (a lease, a key, a probe permit); what it does once the answer is known is the `Finish` it
 * returns. So a request whose policies all decide from isolate state (a cached token, a held lease, a free slot, a
 * closed breaker) runs them as plain calls: no async frame, promise or closure per policy (the bench's ledger
 * charged the middleware form about 40 µs per request for five policies; docs/performance.md).
 */
import type { Context } from 'hono';
import type { GatewayRuntime } from '../runtime/gateway-runtime.ts';
import type { ServiceConfig } from '../config/schema.ts';
import type { AppEnv } from '../env.ts';
import { renderError } from '../errors/render-error.ts';

/**
 * Runs once the request's answer is known: `answer` is the response or the rendered problem, `c.error` the error
 * when the answer is a problem (a refusal of a later policy, a failed forward). Finishes run in reverse order of
 * their policies, as a middleware's code after `await next()` would.
 */
export type Finish = (c: Context<AppEnv>, answer: Response) => void;

/** What `admit` returns: nothing to do afterwards, a `Finish`, or a promise of either when it had to wait. */
export type Admitted = void | Finish | Promise<void | Finish>;

export interface ServicePolicy {
  /** Whether the policy can act on requests of `service` under `gateway`; decided once per configuration version. */
  appliesTo(service: ServiceConfig, gateway: GatewayRuntime): boolean;
  /**
   * The span (and `Server-Timing` entry) for the time `admit` waits, when it returns a promise: `auth`,
   * `rate-limit`, `concurrency`, `circuit-breaker`. A decision taken without waiting records nothing.
   */
  phase?: string;
  /**
   * Decides: returns to let the request on, throws (a GatewayError) to refuse it. Headers the policy wants on the
   * answer, whatever it is, go in the `answerHeaders` variable (see {@link applyAnswerHeaders}), not in a Finish.
   */
  admit(c: Context<AppEnv>): Admitted;
}

/** The rest of the chain once every policy has admitted the request: the forward. */
export type ServiceHandler = (c: Context<AppEnv>) => Promise<Response>;

/**
 * Runs, after routing, the `policies` (in this order) that apply to the matched service, then `handler`, and
 * answers with its response. A refusal thrown while no policy has a `Finish` pending goes to the caller; once one
 * has, the refusal is rendered here ({@link answerWithProblem}), so every `Finish` sees the answer the client gets.
 */
export function serviceChain(policies: readonly ServicePolicy[], handler: ServiceHandler): ServiceHandler {
  const compiled = new WeakMap<GatewayRuntime, Map<string, readonly ServicePolicy[]>>();
  const policiesFor = (gateway: GatewayRuntime, service: ServiceConfig) => {
    let byService = compiled.get(gateway);
    if (!byService) compiled.set(gateway, (byService = new Map()));
    let applying = byService.get(service.name);
    if (!applying) byService.set(service.name, (applying = policies.filter((policy) => policy.appliesTo(service, gateway))));
    return applying;
  };

  // Not async: when every policy decides at once and none has anything to do afterwards, the request goes on to
  // the handler with no frame of this function left to resume.
  return function serviceChain(c) {
    const applying = policiesFor(c.get('gateway'), c.get('route').service);
    for (let i = 0; i < applying.length; i++) {
      const admitted = applying[i]!.admit(c);
      if (admitted) return continueChain(c, handler, applying, i, admitted);
    }
    return handler(c);
  };
}

/** The chain from policy `from` on, once one has waited or left a `Finish`. */
async function continueChain(c: Context<AppEnv>, handler: ServiceHandler, applying: readonly ServicePolicy[], from: number, first: Admitted): Promise<Response> {
  const finishes: Finish[] = [];
  let answer: Response;
  try {
    for (let i = from; i < applying.length; i++) {
      let admitted = i === from ? first : applying[i]!.admit(c);
      if (admitted instanceof Promise) admitted = await timed(c, applying[i]!.phase, admitted);
      if (admitted) finishes.push(admitted);
    }
    answer = await handler(c);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    answer = answerWithProblem(c, error);
  }
  for (let i = finishes.length - 1; i >= 0; i--) finishes[i]!(c, answer);
  return answer;
}

/**
 * The answer to a request that ends in `error` (a refusal, a failed forward, a fault of the gateway): the rendered
 * problem, with `c.error` set for the recording point. A request answered with a problem delivers no upstream
 * body, so what it holds until delivery (its concurrency slot, `releaseOnDelivery`) is released here; a release
 * counts once, however often it is called.
 */
export function answerWithProblem(c: Context<AppEnv>, error: Error): Response {
  c.error = error;
  c.get('releaseOnDelivery')?.();
  return renderError(error, c);
}

/**
 * Sets the headers policies asked for (`answerHeaders`: the rate limit's RateLimit fields) on the answer the client
 * gets, a problem included. The edge layer calls it last, with the security headers.
 */
export function applyAnswerHeaders(c: Context<AppEnv>): void {
  const headers = c.get('answerHeaders');
  if (headers) for (const name in headers) c.res.headers.set(name, headers[name]!);
}

/** Waits for a policy's decision; the wait becomes a span of the request's trace (nothing for a wait of 0 ms). */
async function timed(c: Context<AppEnv>, phase: string | undefined, admitted: Promise<void | Finish>): Promise<void | Finish> {
  const start = Date.now();
  try {
    return await admitted;
  } finally {
    const durationMs = Date.now() - start;
    if (phase && durationMs > 0) c.get('observation')?.spans.push({ name: phase, start, durationMs });
  }
}
