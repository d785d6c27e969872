/**
 * @module When this isolate began serving, for `uptimeSeconds` in /gateway/status. Noted on the first request,
 * not at module load: a deployed Worker's clock does not run during startup, so a module-level `Date.now()`
 * would not be the start either.
 */

let startedAt: number | undefined;

/** Notes `now` as the isolate's start if nothing was noted yet; every request calls it, only the first counts. */
export function noteIsolateStart(now: number): void {
  startedAt ??= now;
}

/** Whole seconds since the isolate's first request (0 if it has not served one yet). */
export function isolateUptimeSeconds(now: number): number {
  return startedAt === undefined ? 0 : Math.max(0, Math.round((now - startedAt) / 1000));
}
