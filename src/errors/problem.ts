/** @module Typed gateway errors and their one rendering: RFC 9457 `application/problem+json`. */
import { localise, negotiateLocale, PROBLEM_STATUS, type ProblemKind, type ProblemParams } from './messages.ts';

/** Problem types are URNs so they stay the same on every deployment; docs/problems.md describes each. */
export const PROBLEM_TYPE_PREFIX = 'urn:edge-gateway:problem:';

/** An error with a stable problem type. Thrown anywhere on the request path, rendered once by the app's onError. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly status: number;
  readonly headers: Headers;
  readonly kind: ProblemKind;
  readonly params: ProblemParams;
  /** Extra members of the problem body, such as the list of invalid fields. */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    kind: ProblemKind,
    params: ProblemParams = {},
    options: { headers?: HeadersInit; cause?: unknown; extensions?: Record<string, unknown> } = {},
  ) {
    super(kind, { cause: options.cause });
    this.kind = kind;
    this.params = params;
    this.extensions = options.extensions ?? {};
    this.status = PROBLEM_STATUS[kind];
    this.headers = new Headers(options.headers);
  }
}

/**
 * Renders a problem in the language the client prefers. The body never carries internals: no stack, no
 * exception message, only the fixed text of the problem kind and its parameters.
 */
export function problemResponse(
  error: GatewayError,
  request: { requestId: string; acceptLanguage: string | null | undefined },
): Response {
  const locale = negotiateLocale(request.acceptLanguage);
  const { title, detail } = localise(error.kind, locale, { ...error.params, requestId: request.requestId });
  const body = {
    type: `${PROBLEM_TYPE_PREFIX}${error.kind}`,
    title,
    status: error.status,
    detail,
    requestId: request.requestId,
    ...error.extensions,
  };
  const headers = new Headers(error.headers);
  headers.set('content-type', 'application/problem+json; charset=utf-8');
  headers.set('content-language', locale);
  headers.append('vary', 'Accept-Language');
  headers.set('cache-control', 'no-store');
  return new Response(JSON.stringify(body), { status: error.status, headers });
}
