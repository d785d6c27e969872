/** @module Schemas of the admin API's bodies and answers: they validate requests and generate /openapi.json. */
import * as z from 'zod';
// Before any schema below: gives zod's schemas `.openapi()` (a no-op at run time; the build reads the metadata).
import './openapi-router.ts';
import { HTTP_METHODS } from '../config/schema.ts';

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:edge-gateway:problem:invalid-request' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    requestId: z.string(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'Each invalid field, for invalid-request and invalid-configuration.' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details; see docs/problems.md for every type.' });

/** The problem answers an admin endpoint can give, for its OpenAPI description. */
export function problems(...statuses: (400 | 401 | 403 | 404 | 409 | 412 | 500 | 503)[]) {
  const descriptions: Record<number, string> = {
    400: 'Invalid request or resulting configuration',
    401: 'No valid admin credentials',
    403: 'Authenticated, but not an administrator',
    404: 'No such resource',
    409: 'The resource already exists',
    412: 'The configuration changed since the version in If-Match',
    500: 'Unexpected error',
    503: 'The state plane or registry could not be reached',
  };
  return Object.fromEntries(
    statuses.map((status) => [status, { description: descriptions[status]!, content: { 'application/problem+json': { schema: ProblemSchema } } }]),
  );
}

// Query parameters arrive as text. `z.coerce.number()` read it with `Number()`, which also takes `0x10` (16), `1e2`
// (100), ` 5 ` (5) and an empty value (0): a typo or a probe became a valid limit. Only plain decimal digits are read
// as a number here; any other text stays a string, which the number schema refuses as a 400 naming the parameter.
const DECIMAL_INTEGER = /^-?[0-9]+$/;
const DECIMAL_NUMBER = /^-?[0-9]+(?:\.[0-9]+)?$/;
const decimalOnly = (pattern: RegExp) => (value: unknown) => (typeof value === 'string' && pattern.test(value) ? Number(value) : value);
const notDecimal = (expected: string) => (issue: { code: string }) => (issue.code === 'invalid_type' ? `expected ${expected} in decimal digits` : undefined);

/**
 * A decimal integer query parameter between `min` and `max`. The OpenAPI document shows the number schema inside
 * (integer, minimum, maximum): the generator describes a preprocessed schema by its output.
 * @example limit: queryInteger(1, 500).default(50)
 */
export function queryInteger(min: number, max?: number) {
  const integer = z.number({ error: notDecimal('an integer') }).int().min(min);
  return z.preprocess(decimalOnly(DECIMAL_INTEGER), max === undefined ? integer : integer.max(max));
}

/** A decimal number query parameter of at least `min` (`250`, `12.5`; not `1e3`). */
export function queryNumber(min: number) {
  return z.preprocess(decimalOnly(DECIMAL_NUMBER), z.number({ error: notDecimal('a number') }).min(min));
}

const Name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);

export const ServiceParam = z.object({ service: Name.openapi({ param: { name: 'service', in: 'path' }, example: 'samples' }) });

export const InstanceSchema = z
  .object({
    id: z.string().openapi({ example: 'samples-3' }),
    url: z.string().openapi({ example: 'http://127.0.0.1:8090' }),
    weight: z.number().int(),
    metadata: z.record(z.string(), z.string()),
    source: z.enum(['file', 'registry']).openapi({ description: 'Deployed with gateway.config.json, or registered through this API.' }),
  })
  .openapi('Instance');

export const RegisterInstanceSchema = z
  .object({
    service: Name.openapi({ example: 'samples' }),
    url: z.string().min(1).openapi({ example: 'http://127.0.0.1:8090' }),
    weight: z.number().int().min(1).max(1000).default(1),
    metadata: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(256)).default({}),
    id: Name.optional().openapi({ description: 'Chosen by the gateway when left out.' }),
  })
  .strict()
  .openapi('RegisterInstance');

export const RouteBodySchema = z
  .object({
    pathPrefix: z.string().openapi({ example: '/v2/samples' }),
    methods: z.array(z.enum(HTTP_METHODS)).min(1).optional(),
    hosts: z.array(z.string()).min(1).optional(),
    stripPrefix: z.boolean().default(false),
    rewritePrefix: z.string().optional(),
  })
  .strict();

export const RouteSchema = RouteBodySchema.extend({
  id: Name.openapi({ example: 'samples-v2' }),
  service: Name.openapi({ example: 'samples' }),
  source: z.enum(['file', 'registry']),
}).openapi('Route');

export const NewRouteSchema = RouteBodySchema.extend({ id: Name.optional(), service: Name }).strict().openapi('NewRoute');
export const PutRouteSchema = RouteBodySchema.extend({ service: Name }).strict().openapi('PutRoute');
export const RouteParam = z.object({ id: Name.openapi({ param: { name: 'id', in: 'path' }, example: 'samples-v2' }) });

export const ServiceSchema = z
  .object({
    name: z.string(),
    strategy: z.string(),
    routes: z.array(z.string()).openapi({ description: 'Route ids.' }),
    instances: z.array(InstanceSchema),
  })
  .openapi('Service');

export const ConfigChangeSchema = z
  .object({
    op: z.enum(['add', 'remove', 'change']),
    path: z.string().openapi({ example: 'services[samples].instances[samples-3]' }),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .openapi('ConfigChange');

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    at: z.string().openapi({ description: 'ISO 8601 time of the change.' }),
    actor: z.string().openapi({ example: 'jwt:alice' }),
    action: z.string().openapi({ example: 'instance.register' }),
    target: z.string().openapi({ example: 'services/samples/instances/samples-3' }),
    before: z.unknown(),
    after: z.unknown(),
    requestId: z.string().nullable(),
  })
  .openapi('AuditEntry');

export const IfMatchHeader = z.object({
  'if-match': z
    .string()
    .optional()
    .openapi({ param: { name: 'if-match', in: 'header' }, description: 'The configuration version (ETag) the change was based on; 412 if it moved.', example: '"7"' }),
});

export const ETagHeader = { ETag: { schema: { type: 'string' as const }, description: 'The configuration version after the change.' } };
