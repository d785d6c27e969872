/** @module Versioned schema migrations for a Durable Object's SQLite storage (no PRAGMA user_version there). */

/**
 * Applies the migrations not yet applied, in order, each in one transaction, and records them. Call it from the
 * object's constructor under `blockConcurrencyWhile`, the only place schema may change.
 */
export function migrate(storage: DurableObjectStorage, migrations: readonly string[]): void {
  storage.sql.exec('CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const applied = storage.sql.exec<{ version: number }>('SELECT COALESCE(MAX(version), 0) AS version FROM _migrations').one().version;
  migrations.forEach((statement, index) => {
    const version = index + 1;
    if (version <= applied) return;
    storage.transactionSync(() => {
      storage.sql.exec(statement);
      storage.sql.exec('INSERT INTO _migrations (version, applied_at) VALUES (?, ?)', version, Date.now());
    });
  });
}
