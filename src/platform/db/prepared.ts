/**
 * Queries written once with Kysely, compiled once, and run with fresh parameters. On SQLite they
 * run through a cached better-sqlite3 statement: building and compiling a Kysely query costs more
 * than the indexed lookup itself (measured ~100 us against ~20 us), which matters on the hot path
 * (`get` at thousands of requests per second). On PostgreSQL the compiled query goes through
 * Kysely's executor (the pool), skipping only the build and compile.
 *
 * On SQLite, reads (`all`, `first`) run on the shared read-only connection when there is one
 * (reader.ts): committed data only, never another request's open transaction. Writes
 * (`run`) share Kysely's one connection; they are synchronous, so they never interleave with
 * another query. Both are only used outside transactions.
 */
import type SQLite from 'better-sqlite3';
import type { CompiledQuery, Compilable } from 'kysely';
import type { DB } from './index.js';

export interface Prepared<R> {
  /** Every row for `params` (in placeholder order). */
  all(params: readonly unknown[]): Promise<R[]>;
  first(params: readonly unknown[]): Promise<R | undefined>;
  /** For writes: how many rows changed. */
  run(params: readonly unknown[]): Promise<number>;
}

export interface PrepareOptions {
  /** SQLite: the connection reads run on (default: the main one). */
  reader?: SQLite.Database;
  /** SQLite: rewrites the compiled SQL text (e.g. sqliteIndexHint); parameters must stay as they are. */
  sqliteSql?: (sql: string) => string;
}

/** Compiles `query` (built with placeholder values, `arity` of them) for repeated use. */
export function prepare<R>(
  db: DB,
  sqlite: SQLite.Database | undefined,
  query: Compilable<R>,
  arity: number,
  opts: PrepareOptions = {},
): Prepared<R> {
  const compiled: CompiledQuery<R> = query.compile();
  if (compiled.parameters.length !== arity) {
    throw new Error(`prepared query expects ${arity} parameters, compiled ${compiled.parameters.length}: ${compiled.sql}`);
  }
  if (sqlite) {
    const text = opts.sqliteSql ? opts.sqliteSql(compiled.sql) : compiled.sql;
    // A statement is prepared on the connection it runs on, when first used.
    const on = (conn: SQLite.Database) => {
      let stmt: SQLite.Statement | undefined;
      return () => (stmt ??= conn.prepare(text));
    };
    const read = on(opts.reader ?? sqlite);
    const write = on(sqlite);
    return {
      async all(params) {
        return read().all(...params) as R[];
      },
      async first(params) {
        return read().get(...params) as R | undefined;
      },
      async run(params) {
        return write().run(...params).changes;
      },
    };
  }
  const exec = (params: readonly unknown[]) => db.executeQuery<R>({ ...compiled, parameters: params });
  return {
    async all(params) {
      return (await exec(params)).rows;
    },
    async first(params) {
      return (await exec(params)).rows[0];
    },
    async run(params) {
      return Number((await exec(params)).numAffectedRows ?? 0);
    },
  };
}

/**
 * SQLite: `"table" as "alias"` -> `"table" as "alias" indexed by "index"` in compiled SQL. Without
 * ANALYZE statistics SQLite's planner prefers a unique index over a covering one; this pins the
 * covering one. Throws when the text is not there, so a changed query cannot silently lose it.
 */
export function sqliteIndexHint(table: string, alias: string, index: string): (sql: string) => string {
  const from = `"${table}" as "${alias}"`;
  return (sql) => {
    if (!sql.includes(from)) throw new Error(`sqliteIndexHint: ${from} not in ${sql}`);
    return sql.replace(from, `${from} indexed by "${index}"`);
  };
}
