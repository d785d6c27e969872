/** @module Admin API for API keys: create (the key is shown once), list (no secrets), revoke. */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { ApiKeyRecord } from '../../durable-objects/api-key-store.ts';
import { formatIssues } from '../config/load.ts';
import type { AppEnv } from '../env.ts';
import { GatewayError } from '../errors/problem.ts';
import { ALL_SHARDS, generateApiKey, shardName, shardOfId } from '../policies/auth/api-keys.ts';
import { callDurableObject } from '../state/call-durable-object.ts';

const MAX_BODY_BYTES = 16 * 1024;

export const CreateApiKeySchema = z
  .object({
    name: z.string().regex(/^[^\x00-\x1f\x7f]{1,100}$/, 'expected 1 to 100 characters, no control characters').describe('What the key is for, for people.'),
    consumer: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, 'expected letters, digits, ".", "_", "@" or "-"').describe('Who uses the key; per-consumer policies (rate limits) key on it.'),
    services: z.array(z.string()).min(1).max(100).describe('Services the key may call.'),
    scopes: z.array(z.string().regex(/^[\x21-\x2b\x2d-\x7e]{1,128}$/, 'expected visible ASCII without ","')).max(100).default([]).describe('Scopes granted to the key.'),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('When the key stops working (ISO 8601).'),
  })
  .strict();

/** An API key as the admin API shows it. */
function view(record: ApiKeyRecord): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...record, createdAt: iso(record.createdAt), expiresAt: iso(record.expiresAt), revokedAt: iso(record.revokedAt) };
}

/** The endpoints, mounted at `/gateway/api-keys` behind `requireAdmin()`. */
export function apiKeysAdmin(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.post('/', async function createApiKey(c) {
    const input = await readBody(c);
    const known = new Set(c.var.gateway.config.services.map((service) => service.name));
    const unknown = input.services.filter((service) => !known.has(service));
    if (unknown.length > 0) throw new GatewayError('invalid-body', { issues: `services: no service named ${unknown.map((s) => `"${s}"`).join(', ')}` });
    const now = Date.now();
    const expiresAt = input.expiresAt === undefined ? null : Date.parse(input.expiresAt);
    if (expiresAt !== null && expiresAt <= now) throw new GatewayError('invalid-body', { issues: 'expiresAt: must be in the future' });

    const { key, keyHash, id, shard, hint } = await generateApiKey();
    const record = await callDurableObject(() =>
      c.env.API_KEYS.getByName(shardName(shard)).create({
        id,
        keyHash,
        hint,
        name: input.name,
        consumer: input.consumer,
        services: [...new Set(input.services)],
        scopes: [...new Set(input.scopes)],
        createdAt: now,
        expiresAt,
      }),
    );
    return c.json({ ...view(record), key }, 201, { location: `/gateway/api-keys/${id}`, 'cache-control': 'no-store' });
  });

  app.get('/', async function listApiKeys(c) {
    const shards = await Promise.all(ALL_SHARDS.map((shard) => callDurableObject(() => c.env.API_KEYS.getByName(shardName(shard)).list())));
    const keys = shards.flat().sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    return c.json({ keys: keys.map(view) }, 200, { 'cache-control': 'no-store' });
  });

  app.delete('/:id', async function revokeApiKey(c) {
    const id = c.req.param('id');
    const shard = shardOfId(id);
    if (shard === undefined) throw new GatewayError('api-key-not-found', { id: id.slice(0, 64) });
    const record = await callDurableObject(() => c.env.API_KEYS.getByName(shardName(shard)).revoke(id, Date.now()));
    if (record === null) throw new GatewayError('api-key-not-found', { id });
    return c.body(null, 204);
  });

  return app;
}

async function readBody(c: Context<AppEnv>): Promise<z.output<typeof CreateApiKeySchema>> {
  const declared = Number(c.req.header('content-length') ?? NaN);
  if (declared > MAX_BODY_BYTES) throw new GatewayError('payload-too-large', { limit: MAX_BODY_BYTES });
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw new GatewayError('payload-too-large', { limit: MAX_BODY_BYTES });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GatewayError('invalid-body', { issues: 'not valid JSON' });
  }
  const result = CreateApiKeySchema.safeParse(json);
  if (!result.success) throw new GatewayError('invalid-body', { issues: formatIssues(result.error).join('; ') });
  return result.data;
}
