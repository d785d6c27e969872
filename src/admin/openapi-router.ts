/**
 * @module The admin routes' runtime: the same route definitions and zod schemas as @hono/zod-openapi's, validated
 * the same way, without its document generator. The OpenAPI document is built at build time from these very
 * definitions (src/build/openapi-document.ts, `npm run openapi`), so @asteasolutions/zod-to-openapi (about 35 KiB
 * minified with @hono/zod-openapi) is neither bundled nor evaluated at start-up.
 *
 * Route files import `createRoute` and the `AdminRouter` type from here and zod as `import * as z from 'zod'`, never
 * from @hono/zod-openapi, whose module scope extends zod and pulls the generator in. (Re-exporting zod's namespace
 * from a module makes esbuild keep all of zod, so it is not re-exported.)
 */
import type { createRoute as createOpenApiRoute, OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import { zValidator } from '@hono/zod-validator';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import * as z from 'zod';
import type { AppEnv } from '../env.ts';
import { formatFieldPath } from '../config/load.ts';
import { GatewayError } from '../errors/problem.ts';
import { parseStrictJson, StrictJsonError } from '../policies/auth/strict-json.ts';

// Schemas carry their OpenAPI metadata with `.openapi(...)`. Only the document generator reads it; at run time the
// method returns the schema unchanged. When the build (or a test) has loaded @hono/zod-openapi first, zod already
// has the real method and it is left alone, so the metadata reaches the document.
const zodTypePrototype = z.ZodType.prototype as { openapi?: unknown };
if (typeof zodTypePrototype.openapi === 'undefined') {
  zodTypePrototype.openapi = function openapiMetadataIsBuildTimeOnly(this: unknown) {
    return this;
  };
}

/**
 * Largest body an admin endpoint reads (1 MiB; a whole configuration of a few hundred services fits many times).
 * Without it only `gateway.limits.maxBodyBytes` (100 MiB) applied: a 42 MB registration (200,000 metadata entries)
 * was parsed, validated and sent to the registry object, whose RPC refuses arguments over 32 MiB, and the answer was
 * a 500. Larger bodies now get 413 `payload-too-large` before any of it is parsed.
 */
export const ADMIN_MAX_BODY_BYTES = 1024 * 1024;

const adminBodyLimit = bodyLimit({
  maxSize: ADMIN_MAX_BODY_BYTES,
  onError: () => {
    throw new GatewayError('payload-too-large', { limit: ADMIN_MAX_BODY_BYTES });
  },
});

/**
 * Refuses a JSON body in which an object names a member twice, as a 400 naming the field. `JSON.parse` keeps the last
 * one, so `{"service":"samples","service":"storage"}` registered into storage while a reviewer, a log or a proxy
 * reading the first saw samples. Other syntax errors are left to the validator (its "Malformed JSON" answer). The
 * text read here is cached by Hono, so the validator does not read the body again.
 */
const refuseRepeatedMembers: MiddlewareHandler<AppEnv> = async (c, next) => {
  const contentType = c.req.header('content-type');
  if (contentType && isJsonMediaType(contentType)) {
    try {
      parseStrictJson(await c.req.text(), 64);
    } catch (error) {
      if (error instanceof StrictJsonError && error.duplicate) {
        const path = formatFieldPath(error.path);
        throw new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path, message: `"${error.path.at(-1)}" appears more than once` }] } });
      }
    }
  }
  await next();
};

/** `createRoute` of @hono/zod-openapi without the routing-path helper nothing here uses: the definition as given. */
export const createRoute = (<const R extends RouteConfig>(route: R) => route) as unknown as typeof createOpenApiRoute;

/** What a route file needs of its router: @hono/zod-openapi's typed `openapi(route, handler)`, and plain routes. */
export type AdminRouter = Pick<OpenAPIHono<AppEnv>, 'openapi' | 'get'>;

type ValidationHook = NonNullable<ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0]>['defaultHook'];

// The media-type rules of @hono/zod-openapi 1.6, kept identical so validation answers the same.
const isJsonMediaType = (mediaType: string) => /^application\/([a-z-\.]+\+)?json/i.test(mediaType);
const isFormMediaType = (mediaType: string) => /^(multipart\/form-data|application\/x-www-form-urlencoded)/i.test(mediaType);
const JSON_REQUEST = /^application\/([a-z-\.]+\+)?json(;\s*[a-zA-Z0-9\-]+\=([^;]+))*$/i;
const MULTIPART_REQUEST = /^multipart\/form-data(;\s?boundary=[a-zA-Z0-9'"()+_,\-./:=?]+)?$/i;
const URLENCODED_REQUEST = /^application\/x-www-form-urlencoded(;\s*[a-zA-Z0-9\-]+\=([^;]+))*$/i;
const isZodSchema = (value: unknown): value is z.ZodType =>
  typeof value === 'object' && value !== null && typeof (value as z.ZodType).safeParseAsync === 'function';

/**
 * A Hono app whose `openapi(route, handler)` validates query, path parameters, headers, cookies and a JSON or form
 * body with the route's schemas before the handler runs, as @hono/zod-openapi 1.x does (same order, same 415 for
 * a body of an undeclared media type, same treatment of optional bodies), and reports failures to `defaultHook`.
 */
export class OpenApiRouter extends Hono<AppEnv> {
  readonly #defaultHook: ValidationHook;

  constructor(options: { defaultHook: ValidationHook }) {
    super();
    this.#defaultHook = options.defaultHook;
  }

  openapi = ((route: RouteConfig, handler: MiddlewareHandler<AppEnv>, routeHook?: ValidationHook) => {
    const hook = (routeHook ?? this.#defaultHook) as Parameters<typeof zValidator>[2];
    const { request } = route;
    const validators: MiddlewareHandler<AppEnv>[] = [];
    const add = (validator: unknown) => validators.push(validator as MiddlewareHandler<AppEnv>);
    if (request?.query) add(zValidator('query', request.query as z.ZodType, hook));
    if (request?.params) add(zValidator('param', request.params as z.ZodType, hook));
    if (request?.headers) add(zValidator('header', request.headers as z.ZodType, hook));
    if (request?.cookies) add(zValidator('cookie', request.cookies as z.ZodType, hook));
    const content = request?.body?.content ?? {};
    const mediaTypes = Object.keys(content);
    const schemaOf = (mediaType: string) => (content[mediaType] as { schema?: unknown } | undefined)?.schema;
    if (mediaTypes.some((mediaType) => isZodSchema(schemaOf(mediaType)) && (isJsonMediaType(mediaType) || isFormMediaType(mediaType)))) {
      validators.push(adminBodyLimit as MiddlewareHandler<AppEnv>);
      // A body of a media type the route does not declare is refused before any schema runs.
      validators.push(async (c, next) => {
        const contentType = c.req.header('content-type');
        if (contentType ? !mediaTypes.some((mediaType) => matchesMediaType(contentType, mediaType)) : await hasBody(c)) {
          throw new HTTPException(415, { message: 'Unsupported Media Type' });
        }
        await next();
      });
    }
    for (const mediaType of mediaTypes) {
      const schema = schemaOf(mediaType);
      if (!isZodSchema(schema)) continue;
      const target = isJsonMediaType(mediaType) ? 'json' : isFormMediaType(mediaType) ? 'form' : undefined;
      if (!target) continue;
      const validator = zValidator(target, schema, hook) as unknown as MiddlewareHandler<AppEnv>;
      if (target === 'json') validators.push(refuseRepeatedMembers);
      if (request?.body?.required) {
        validators.push(validator);
        continue;
      }
      // An optional body: validated when one of this media type is sent, else the handler sees `{}`.
      const isTarget = target === 'json' ? isJsonMediaType : isFormMediaType;
      validators.push(async (c, next) => {
        const contentType = c.req.header('content-type');
        if (contentType && isTarget(contentType)) return validator(c, next);
        c.req.addValidatedData(target, {});
        await next();
      });
    }
    const routeMiddleware = (route.middleware ? [route.middleware].flat() : []) as MiddlewareHandler<AppEnv>[];
    this.on([route.method.toUpperCase()], [route.path.replaceAll(/\/{(.+?)}/g, '/:$1')], ...routeMiddleware, ...validators, handler);
    return this;
  }) as unknown as OpenAPIHono<AppEnv>['openapi'];
}

/** Whether a request's Content-Type is one the route declared (a JSON or form type must be well formed). */
function matchesMediaType(contentType: string, declared: string): boolean {
  if (declared === '*/*') return true;
  if (isJsonMediaType(declared)) return JSON_REQUEST.test(contentType);
  if (isFormMediaType(declared)) return MULTIPART_REQUEST.test(contentType) || URLENCODED_REQUEST.test(contentType);
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  if (declared.endsWith('/*')) return essence.startsWith(declared.slice(0, -1).toLowerCase());
  return essence === declared.toLowerCase();
}

/** Whether a request without Content-Type carries any body byte, read from a clone so the handler still can. */
async function hasBody(c: Context<AppEnv>): Promise<boolean> {
  const raw = c.req.raw;
  if (raw.body === null) return false;
  if (raw.bodyUsed) return (await c.req.arrayBuffer()).byteLength > 0;
  const reader = raw.clone().body?.getReader();
  if (!reader) return false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return false;
      if (value.byteLength > 0) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
