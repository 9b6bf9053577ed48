/**
 * Column helpers for migrations, so that one migration serves both dialects.
 */
import type { CreateTableBuilder, Kysely } from 'kysely';
import { dialectOf } from './index.js';

/** Adds an auto-increment integer primary key `id`. */
export function withId<T extends string>(db: Kysely<any>, t: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'> {
  return dialectOf(db) === 'postgres'
    ? t.addColumn('id', 'bigserial', (c) => c.primaryKey())
    : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

/** The type for millisecond timestamps and other large integers. */
export function bigint(db: Kysely<any>): 'bigint' | 'integer' {
  return dialectOf(db) === 'postgres' ? 'bigint' : 'integer';
}

/** The type for binary data. */
export function blob(db: Kysely<any>): 'bytea' | 'blob' {
  return dialectOf(db) === 'postgres' ? 'bytea' : 'blob';
}
