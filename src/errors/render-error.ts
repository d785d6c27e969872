/** @module The one place errors become responses. */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConfigError } from '../config/load.ts';
import type { AppEnv } from '../env.ts';
import { waitUntilOf } from '../middleware/wait-until.ts';
import { reportError } from '../observability/sentry.ts';
import { traceContextFrom } from '../observability/trace-context.ts';
import { GatewayError, problemResponse } from './problem.ts';

/**
 * Hono `onError` handler: a {@link GatewayError} becomes its problem; anything else is logged with the request id
 * and answered with a generic 500, never with its message or stack.
 */
export const renderError = (error: Error, c: Context<AppEnv>): Response => {
  const trace = c.get('trace') ?? traceContextFrom(c.req.raw.headers);
  let problem: GatewayError;
  if (error instanceof GatewayError) {
    problem = error;
  } else if (error instanceof HTTPException && error.status === 400) {
    // Hono's own refusals of a body it cannot read (malformed JSON): the text is Hono's, never ours or the caller's.
    problem = new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path: '', message: error.message }] } });
  } else if (error instanceof HTTPException && error.status === 415) {
    problem = new GatewayError('unsupported-media-type', {}, { headers: { 'accept-post': 'application/json' } });
  } else if (error instanceof ConfigError) {
    console.error(JSON.stringify({ level: 'error', requestId: trace.requestId, message: error.message }));
    problem = new GatewayError('configuration-error');
  } else {
    console.error(
      JSON.stringify({ level: 'error', requestId: trace.requestId, message: String(error), stack: (error as Error).stack }),
    );
    problem = new GatewayError('internal-error');
  }
  // A 500 the gateway made itself is a bug or a broken deployment: someone should hear of it.
  if (problem.status === 500) {
    const route = c.get('route');
    reportError(c.env, waitUntilOf(c), error, {
      where: 'request',
      requestId: trace.requestId,
      ...(route ? { route: route.route.id!, service: route.service.name } : {}),
      request: c.req.raw,
    });
  }
  const response = problemResponse(problem, { requestId: trace.requestId, acceptLanguage: c.req.header('accept-language') });
  response.headers.set('x-request-id', trace.requestId);
  response.headers.set('traceparent', trace.traceparent);
  return response;
};
