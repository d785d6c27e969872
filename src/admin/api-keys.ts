/** @module Admin API for API keys: create (the key is shown once), list (no secrets), revoke. */
import * as z from 'zod';
import { createRoute, type AdminRouter } from './openapi-router.ts';
import type { ApiKeyRecord } from '../../durable-objects/api-key-store.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { ALL_SHARDS, generateApiKey, shardName, shardOfId } from '../policies/auth/api-keys.ts';
import { callDurableObject } from '../state/clients/call-durable-object.ts';
import { problems } from './schemas.ts';

const admin = [{ adminBearer: [] }];

export const CreateApiKeySchema = z
  .object({
    name: z.string().regex(/^[^\x00-\x1f\x7f]{1,100}$/, 'expected 1 to 100 characters, no control characters').openapi({ description: 'What the key is for, for people.', example: 'nightly backup' }),
    consumer: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'expected letters, digits, ".", "_", "@" or "-"')
      .openapi({ description: 'Who uses the key; per-consumer policies (rate limits) key on it.', example: 'acme' }),
    services: z.array(z.string()).min(1).max(100).openapi({ description: 'Services the key may call.', example: ['storage'] }),
    scopes: z
      .array(z.string().regex(/^[\x21-\x2b\x2d-\x7e]{1,128}$/, 'expected visible ASCII without ","'))
      .max(100)
      .default([])
      .openapi({ description: 'Scopes granted to the key.' }),
    expiresAt: z.iso.datetime({ offset: true }).optional().openapi({ description: 'When the key stops working (ISO 8601).' }),
  })
  .strict()
  .openapi('NewApiKey');

const ApiKeySchema = z
  .object({
    id: z.string().openapi({ example: 'ak_3f0c9a1b2d3e4f5a6' }),
    name: z.string(),
    consumer: z.string(),
    services: z.array(z.string()),
    scopes: z.array(z.string()),
    hint: z.string().openapi({ description: "The key's first 8 characters.", example: 'egw_AbCd' }),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');

/** An API key as the admin API shows it: never the key, never its hash. */
function view(record: ApiKeyRecord): z.infer<typeof ApiKeySchema> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...record, createdAt: new Date(record.createdAt).toISOString(), expiresAt: iso(record.expiresAt), revokedAt: iso(record.revokedAt) };
}

function invalid(path: string, message: string): GatewayError {
  return new GatewayError('invalid-request', { count: 1 }, { extensions: { errors: [{ path, message }] } });
}

export function registerApiKeyRoutes(api: AdminRouter): void {
  const timeoutMs = (c: { get: (key: 'gateway') => AppEnv['Variables']['gateway'] }) => c.get('gateway').config.gateway.statePlane.callTimeoutMs;

  api.openapi(
    createRoute({
      method: 'post',
      path: '/gateway/api-keys',
      operationId: 'createApiKey',
      tags: ['API keys'],
      summary: 'Create an API key; the key is in this answer and nowhere else, ever',
      security: admin,
      request: { body: { required: true, content: { 'application/json': { schema: CreateApiKeySchema } } } },
      responses: {
        201: { description: 'The key, shown once', content: { 'application/json': { schema: ApiKeySchema.extend({ key: z.string().openapi({ example: 'egw_…' }) }) } } },
        ...problems(400, 401, 403, 503),
      },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const known = new Set(c.get('gateway').config.services.map((service) => service.name));
      const unknown = input.services.filter((service) => !known.has(service));
      if (unknown.length > 0) throw invalid('services', `no service named ${unknown.map((s) => `"${s}"`).join(', ')}`);
      const now = Date.now();
      const expiresAt = input.expiresAt === undefined ? null : Date.parse(input.expiresAt);
      if (expiresAt !== null && expiresAt <= now) throw invalid('expiresAt', 'must be in the future');

      const { key, keyHash, id, shard, hint } = await generateApiKey();
      const record = await callDurableObject(
        () => c.env.API_KEYS.getByName(shardName(shard)),
        (stub) =>
          stub.create({ id, keyHash, hint, name: input.name, consumer: input.consumer, services: [...new Set(input.services)], scopes: [...new Set(input.scopes)], createdAt: now, expiresAt }),
        { kind: 'admin', timeoutMs: timeoutMs(c) },
      );
      return c.json({ ...view(record), key }, 201, { location: `/gateway/api-keys/${id}`, 'cache-control': 'no-store' });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/gateway/api-keys',
      operationId: 'listApiKeys',
      tags: ['API keys'],
      summary: 'Every API key, revoked ones included, without the keys or their hashes',
      security: admin,
      responses: { 200: { description: 'The keys', content: { 'application/json': { schema: z.object({ keys: z.array(ApiKeySchema) }) } } }, ...problems(401, 403, 503) },
    }),
    async (c) => {
      const shards = await Promise.all(
        ALL_SHARDS.map((shard) => callDurableObject(() => c.env.API_KEYS.getByName(shardName(shard)), (stub) => stub.list(), { kind: 'admin', timeoutMs: timeoutMs(c) })),
      );
      const keys = shards.flat().sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      return c.json({ keys: keys.map(view) }, 200, { 'cache-control': 'no-store' });
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/gateway/api-keys/{id}',
      operationId: 'revokeApiKey',
      tags: ['API keys'],
      summary: 'Revoke an API key (it stops working within apiKeys.cacheTtlSeconds)',
      security: admin,
      request: { params: z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'ak_3f0c9a1b2d3e4f5a6' }) }) },
      responses: { 204: { description: 'Revoked' }, ...problems(401, 403, 404, 503) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const shard = shardOfId(id);
      const notFound = () => new GatewayError('resource-not-found', { resource: `API key "${id.slice(0, 64)}"` });
      if (shard === undefined) throw notFound();
      const record = await callDurableObject(() => c.env.API_KEYS.getByName(shardName(shard)), (stub) => stub.revoke(id, Date.now()), { kind: 'admin', timeoutMs: timeoutMs(c) });
      if (record === null) throw notFound();
      return c.body(null, 204);
    },
  );
}
