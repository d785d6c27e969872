/** @module One shard of the API keys: SHA-256 hashes of keys and what each key may do. Layout in docs/storage.md. */
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../src/env.ts';
import { migrate } from '../src/state/infra/sqlite-migrations.ts';

/** An API key as the admin API shows it: never the key, never its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  consumer: string;
  services: string[];
  scopes: string[];
  /** The key's first characters, so people can tell their keys apart ("egw_AbCd"). */
  hint: string;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface NewApiKey extends Omit<ApiKeyRecord, 'revokedAt'> {
  /** Lower-case hex SHA-256 of the key. */
  keyHash: string;
}

interface Row extends Record<string, SqlStorageValue> {
  id: string;
  name: string;
  consumer: string;
  services: string;
  scopes: string;
  hint: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

const MIGRATIONS = [
  `CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     key_hash TEXT NOT NULL UNIQUE,
     hint TEXT NOT NULL,
     name TEXT NOT NULL,
     consumer TEXT NOT NULL,
     services TEXT NOT NULL,
     scopes TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     revoked_at INTEGER
   )`,
];

const COLUMNS = 'id, name, consumer, services, scopes, hint, created_at, expires_at, revoked_at';

/**
 * A shard of the key store, addressed as `api-keys-<first hex digit of the key hash>`: lookups for different keys
 * spread over 16 objects instead of one global object on the request path.
 */
export class ApiKeyStore extends DurableObject<Env> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, MIGRATIONS));
  }

  /** Stores a new key. Idempotent, so a retried call after a lost reply does not fail on its own first write. */
  async create(key: NewApiKey): Promise<ApiKeyRecord> {
    this.#sql.exec(
      `INSERT INTO api_keys (id, key_hash, hint, name, consumer, services, scopes, created_at, expires_at, revoked_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO NOTHING`,
      key.id, key.keyHash, key.hint, key.name, key.consumer, JSON.stringify(key.services), JSON.stringify(key.scopes), key.createdAt, key.expiresAt,
    );
    return this.#byId(key.id)!;
  }

  /** The key with this hash, unless it was revoked. Expiry is left to the caller, which has the request's clock. */
  async findByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const rows = this.#sql.exec<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL`, keyHash).toArray();
    return rows.length === 0 ? null : recordOf(rows[0]!);
  }

  /** Every key of this shard, revoked ones included (with `revokedAt`), for the admin API. */
  async list(): Promise<ApiKeyRecord[]> {
    return this.#sql.exec<Row>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at`).toArray().map(recordOf);
  }

  /** Revokes the key; null when there is no such key. Revoking twice keeps the first time. */
  async revoke(id: string, at: number): Promise<ApiKeyRecord | null> {
    this.#sql.exec('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id);
    return this.#byId(id);
  }

  #byId(id: string): ApiKeyRecord | null {
    const rows = this.#sql.exec<Row>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`, id).toArray();
    return rows.length === 0 ? null : recordOf(rows[0]!);
  }
}

function recordOf(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    consumer: row.consumer,
    services: JSON.parse(row.services) as string[],
    scopes: JSON.parse(row.scopes) as string[],
    hint: row.hint,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
