/**
 * @module Unexpected errors to Sentry through toucan-js: a 500 the gateway made itself, an exception in a Durable
 * Object, a scheduled run or a queue batch. The DSN is a secret (`SENTRY_DSN`); without it nothing is sent. Credentials never
 * leave: only a short allow-list of request headers, no cookies, no query, no client address, and a last scrub
 * of anything that looks like a credential before sending.
 *
 * toucan-js (with @sentry/core, about 54 KiB minified) is imported on the first error reported with a DSN set: the
 * request path, and any isolate that never reports, never evaluates it.
 */
import type { Toucan } from 'toucan-js';
import { version as packageVersion } from '../../package.json';
import type { Env } from '../env.ts';

/** Request headers an event may carry; everything else (Authorization, Cookie, X-Api-Key...) is left out. */
const ALLOWED_HEADERS = ['accept', 'accept-language', 'content-type', 'content-length', 'user-agent', 'x-request-id', 'traceparent'];
const SECRET_NAME = /authorization|cookie|api[-_]?key|token|secret|password|session/i;

export interface ErrorContext {
  where: 'request' | 'durable-object' | 'scheduled' | 'queue';
  requestId?: string;
  /** What ran: the route, `Class.method` of an object, the cron expression, or the queue's name. */
  route?: string;
  service?: string;
  /** The incoming request, for method and URL (path only: the query is dropped). */
  request?: Request;
}

/** Removes credential-looking entries from an event-shaped object, recursively. */
export function scrub<T>(value: T): T {
  if (Array.isArray(value)) return value.map(scrub) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = SECRET_NAME.test(key) ? '[scrubbed]' : scrub(inner);
  return out as T;
}

/** toucan-js, loaded once per isolate by the first report; a failed load is not kept, so the next report retries. */
let toucanModule: Promise<typeof import('toucan-js')> | undefined;
function loadToucan(): Promise<typeof import('toucan-js')> {
  toucanModule ??= import('toucan-js').catch((failure: unknown) => {
    toucanModule = undefined;
    throw failure;
  });
  return toucanModule;
}

/**
 * Reports `error` if a DSN is configured; loading the client and the send run under `waitUntil`. Never throws: a
 * broken error reporter must not turn one failure into two.
 */
export function reportError(env: Env, waitUntil: (promise: Promise<unknown>) => void, error: unknown, context: ErrorContext): void {
  const dsn = env.SENTRY_DSN;
  if (!dsn) return;
  const report = loadToucan().then(({ Toucan: ToucanClient }) => capture(new ToucanClient(toucanOptions(env, dsn, waitUntil, context)), error, context));
  waitUntil(
    report.catch((failure: unknown) => {
      console.error(JSON.stringify({ level: 'error', message: 'error report to Sentry failed', error: String(failure) }));
    }),
  );
}

function toucanOptions(env: Env, dsn: string, waitUntil: (promise: Promise<unknown>) => void, context: ErrorContext): ConstructorParameters<typeof Toucan>[0] {
  return {
    dsn,
    release: `edge-gateway@${packageVersion}`,
    ...(env.SENTRY_ENVIRONMENT ? { environment: env.SENTRY_ENVIRONMENT } : {}),
    context: { waitUntil: (promise: Promise<unknown>) => waitUntil(promise) },
    ...(context.request ? { request: context.request } : {}),
    requestDataOptions: { allowedHeaders: ALLOWED_HEADERS, allowedCookies: false, allowedSearchParams: false, allowedIps: false },
    beforeSend: (event) => {
      if (event.request) {
        delete event.request.cookies;
        delete event.request.query_string;
        if (event.request.url) event.request.url = event.request.url.split('?')[0];
      }
      return scrub(event);
    },
  };
}

function capture(sentry: Toucan, error: unknown, context: ErrorContext): void {
  sentry.setTag('where', context.where);
  if (context.requestId) sentry.setTag('request_id', context.requestId);
  if (context.route) sentry.setTag('route', context.route);
  if (context.service) sentry.setTag('service', context.service);
  sentry.captureException(error);
}

type DurableObjectClass = { prototype: object; name: string };

/**
 * Reports an exception thrown by any public method (RPC, `alarm`, `fetch`) of the Durable Object classes given,
 * then rethrows it: the caller and the runtime (alarm retries) see the same failure as before. Applied once, at
 * module load, in src/index.ts, so no class needs code of its own for it.
 */
export function reportDurableObjectErrors(...classes: DurableObjectClass[]): void {
  for (const cls of classes) {
    const prototype = cls.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
      if (key === 'constructor' || !descriptor || typeof descriptor.value !== 'function') continue;
      const original = descriptor.value as (...args: unknown[]) => unknown;
      const reporting = async function (this: { env: Env; ctx: DurableObjectState }, ...args: unknown[]) {
        try {
          return await original.apply(this, args);
        } catch (error) {
          reportError(this.env, (promise) => this.ctx.waitUntil(promise), error, {
            where: 'durable-object',
            ...(this.ctx.id.name ? { service: this.ctx.id.name } : {}),
            route: `${cls.name}.${key}`,
          });
          throw error;
        }
      };
      Object.defineProperty(prototype, key, { ...descriptor, value: reporting });
    }
  }
}
