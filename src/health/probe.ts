/** @module One active health check of one instance: a GET on its health path, bounded in time. */
import { BodyTooLarge, readBoundedText } from '../proxy/bounded-body.ts';
import type { HealthPlan } from './health-plan.ts';

export interface ProbeResult {
  instance: string;
  at: number;
  ok: boolean;
  /** HTTP status, or null when no answer came (refused, reset, timed out). */
  status: number | null;
  latencyMs: number;
  /** Why the probe failed, in a few words; null when it passed. */
  error: string | null;
  /** Numeric fields of a JSON answer that the plan asks for (cpu, memory, disk, ...). */
  figures: Record<string, number>;
}

/** Largest health answer read; a bigger one is judged on its status alone (no body match, no figures). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Probes `instance` on the plan's health path: a 2xx (whose body contains `expectedBody`, when set) passes;
 * any other status, a refused connection or no answer within `timeoutMs` fails.
 */
export async function probeInstance(
  instance: { id: string; url: string },
  plan: Pick<HealthPlan, 'path' | 'timeoutMs' | 'expectedBody' | 'figures'>,
  fetcher: typeof fetch = fetch,
): Promise<ProbeResult> {
  const at = Date.now();
  const base = new URL(instance.url);
  // Built from parts, never `new URL(path, base)`: the base path is kept and a path cannot change the host.
  const target = `${base.origin}${base.pathname.replace(/\/+$/, '')}${plan.path}`;
  const started = performance.now();
  const result = (ok: boolean, status: number | null, error: string | null, figures: Record<string, number> = {}): ProbeResult => ({
    instance: instance.id,
    at,
    ok,
    status,
    latencyMs: Math.round((performance.now() - started) * 10) / 10,
    error,
    figures,
  });
  let response: Response;
  try {
    response = await fetcher(target, {
      method: 'GET',
      headers: { accept: 'application/json, text/plain;q=0.9', 'user-agent': 'edge-gateway-health-check' },
      redirect: 'manual',
      signal: AbortSignal.timeout(plan.timeoutMs),
    });
  } catch (error) {
    const timedOut = (error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError';
    return result(false, null, timedOut ? `no answer within ${plan.timeoutMs} ms` : 'connection failed');
  }
  let body = '';
  try {
    body = await readBoundedText(response, MAX_BODY_BYTES);
  } catch (error) {
    // A body over the bound is left unread: the check goes by the status alone.
    if (!(error instanceof BodyTooLarge)) return result(false, response.status, 'answer cut off');
  }
  const figures = figuresOf(response.headers.get('content-type'), body, plan.figures);
  if (response.status < 200 || response.status > 299) return result(false, response.status, `status ${response.status}`, figures);
  if (plan.expectedBody !== null && !body.includes(plan.expectedBody)) return result(false, response.status, 'expected body not found', figures);
  return result(true, response.status, null, figures);
}

/** The named numeric fields of a JSON object body (top level, or under `figures` / `metrics`). */
export function figuresOf(contentType: string | null, body: string, names: readonly string[]): Record<string, number> {
  if (!contentType?.toLowerCase().includes('json') || body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const sources = [parsed, (parsed as Record<string, unknown>).figures, (parsed as Record<string, unknown>).metrics];
  const figures: Record<string, number> = {};
  for (const name of names) {
    for (const source of sources) {
      const value = typeof source === 'object' && source !== null ? (source as Record<string, unknown>)[name] : undefined;
      if (typeof value === 'number' && Number.isFinite(value)) {
        figures[name] = value;
        break;
      }
    }
  }
  return figures;
}
