/**
 * Migration tests' set-up: an empty database per test, opened (then closed, dropped and its
 * folder removed after the test), and every module's migrations but one, to build the database as
 * it was before that migration and then apply it to rows written the old way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach } from 'vitest';
import { modules } from '../../src/app.js';
import { isUniqueViolation, openDatabase, type DatabaseHandle, type DB } from '../../src/platform/db/index.js';
import { createTestDatabase, type TestDialect } from './db.js';

/** Every module's migrations without the one named (the database as it was before it). */
export const migrationsWithout = (name: string) =>
  modules.map((m) => ({
    name: m.name,
    migrations: Object.fromEntries(Object.entries(m.migrations ?? {}).filter(([n]) => n !== name)),
  }));

/** Registers the clean-up and answers a function that opens an empty database of the dialect. */
export function emptyDatabaseEach(dialect: TestDialect, prefix: string): () => Promise<DatabaseHandle> {
  let handle: DatabaseHandle | undefined;
  let drop: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await handle?.close();
    await drop?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
    handle = drop = dir = undefined;
  });
  return async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    const made = await createTestDatabase(dialect, dir);
    drop = made.drop;
    handle = openDatabase(made.config);
    return handle;
  };
}

/** What a plain insert came to: 'stored', 'refused' (a unique violation), or the other error. */
export function insertOutcome(insert: Promise<unknown>): Promise<unknown> {
  return insert.then(
    () => 'stored',
    (err: unknown) => (isUniqueViolation(err) ? 'refused' : err),
  );
}

/** A PostgreSQL table's primary key as pg_get_constraintdef writes it (`PRIMARY KEY (a, b)`). */
export async function pgPrimaryKey(db: DB, table: string): Promise<string[]> {
  const pk = await sql<{
    d: string;
  }>`SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = ${table}::regclass AND contype = 'p'`.execute(db);
  return pk.rows.map((r) => r.d);
}
