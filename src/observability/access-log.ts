/**
 * @module Access log: one structured JSON line per request on the console, which `[observability.logs]` exports.
 * Only bounded, non-secret fields: ids, service, route, method, status, outcome, latencies, colo. Never the path,
 * the query, tokens, cookies or client addresses.
 */
import type { RequestRecord } from './request-record.ts';
import type { ObservabilitySettings } from './settings.ts';

type Level = 'info' | 'warn' | 'error';
const RANK: Record<Level | 'off', number> = { info: 0, warn: 1, error: 2, off: 3 };

/** A 5xx is an error, a refusal the gateway made (4xx problem) a warning, anything else info. */
export function levelOf(record: Pick<RequestRecord, 'status' | 'outcome'>): Level {
  if (record.status >= 500) return 'error';
  return record.outcome === 'ok' ? 'info' : 'warn';
}

/** The line for `record`, or undefined when the level or the sampling leaves it out. `random` is in [0, 1). */
export function accessLogLine(
  record: RequestRecord,
  settings: ObservabilitySettings['accessLog'],
  random: number,
  level: Level = levelOf(record),
): string | undefined {
  if (RANK[level] < RANK[settings.level]) return undefined;
  if (level === 'info' && random >= settings.sampleRate) return undefined;
  return JSON.stringify({
    type: 'access',
    level,
    requestId: record.requestId,
    traceId: record.traceId,
    service: record.service,
    route: record.routeId,
    method: record.method,
    status: record.status,
    outcome: record.outcome,
    instance: record.instance,
    attempts: record.attempts,
    latencyMs: record.latencyMs,
    upstreamMs: record.upstreamMs ?? null,
    bytesIn: record.bytesIn,
    bytesOut: record.bytesOut,
    colo: record.colo,
    // Sampled lines stand for 1 / sampleRate requests each: what a log query multiplies by.
    sampleRate: level === 'info' ? settings.sampleRate : 1,
  });
}

/**
 * Writes `record`'s line when its level and the sampling let it in; nothing is serialised otherwise. A console
 * write costs more than the rest of a proxied request's recording (docs/performance.md), so `ok` requests are
 * sampled (`accessLog.sampleRate`, 0.1 by default); warnings and errors are always written.
 */
export function writeAccessLog(record: RequestRecord, settings: ObservabilitySettings['accessLog']): void {
  if (settings.level === 'off') return;
  const level = levelOf(record);
  const line = accessLogLine(record, settings, level === 'info' ? Math.random() : 0, level);
  if (line === undefined) return;
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}
