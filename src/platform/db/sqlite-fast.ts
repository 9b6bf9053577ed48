/**
 * The one SQLite fast path. Every query that bypasses Kysely's per-call build, compile and
 * prepare goes through here (measured: building and compiling a Kysely query costs more than the
 * indexed lookup itself, ~100 us against ~20 us, which matters at thousands of requests a second).
 *
 * - `statementCache(conn)`: one prepared better-sqlite3 statement per SQL text and connection,
 *   bounded (a query with a variable number of placeholders must not grow it forever). Kysely's
 *   SQLite dialect prepares through it too (index.ts), so a statement is prepared once whoever
 *   runs it.
 * - `query(kyselyQuery, arity, opts)`: written with Kysely, compiled once; on SQLite run through a
 *   cached statement (sync `sqlite.get/all/run`, or the async `first/all/run`), on PostgreSQL (or
 *   a handle without raw SQLite) the compiled query goes through Kysely's executor, skipping only
 *   the build and compile.
 * - `statement(sqlText, opts)`: SQLite only (undefined elsewhere), a typed synchronous statement
 *   for the few places that write SQL text themselves (imports row by row, the search indexer,
 *   SQLite-only JSON); their callers keep a Kysely path for PostgreSQL.
 *
 * Connections (`on`): `main` is Kysely's one connection: synchronous statements there never
 * interleave with another query, and run inside the caller's transaction if one is open. `reader`
 * is the shared read-only connection (reader.ts: committed WAL snapshots, never another request's
 * open transaction), or the main one when there is none (`:memory:`). `reader-only` is the reader
 * or nothing: without one, the query goes through Kysely. Reads just before a write of the same
 * rows stay on `main` (the reader's page cache is dropped whenever the main connection commits).
 *
 * Transactions: Kysely lends the main connection to one transaction at a time, and a transaction
 * stays open across its awaits, while other requests run. `query`'s async methods on `main` wait
 * for it (through Kysely's executor) instead of running inside it; the synchronous `sqlite`
 * accessor and `statement` run at once, inside whatever transaction is open: use them only inside
 * the caller's own transaction (better-sqlite3's `transaction()` or Kysely's, holding the
 * connection), or after checking `sqlite.inTransaction` (recipients-repo's insertMany).
 * test/platform/sqlite-fast-transactions.test.ts checks every write path that uses them.
 */
import type SQLite from 'better-sqlite3';
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { Database } from './tables.js';
import type { ReaderTurn } from './reader-turn.js';

/** Statements kept per connection before the cache starts again. */
export const STATEMENT_CACHE_MAX = 500;

const caches = new WeakMap<SQLite.Database, Map<string, SQLite.Statement>>();

/** The prepared statement for `text` on `conn`, prepared on first use and cached (bounded). */
export function cachedStatement(conn: SQLite.Database, text: string): SQLite.Statement {
  let cache = caches.get(conn);
  if (!cache) caches.set(conn, (cache = new Map<string, SQLite.Statement>()));
  let stmt = cache.get(text);
  if (!stmt) {
    stmt = conn.prepare(text);
    if (cache.size >= STATEMENT_CACHE_MAX) cache.clear();
    cache.set(text, stmt);
  }
  return stmt;
}

/**
 * The connection as Kysely's SqliteDialect sees it, preparing through the cache. Kysely only calls
 * `all`/`run` (never `iterate`, which would hold a statement busy) and never changes a statement's
 * mode, so one statement per SQL text serves every call.
 */
export function statementCache(conn: SQLite.Database, beforeEach?: () => void) {
  return {
    close: () => conn.close(),
    // Kysely prepares right before it runs each statement (its driver's executeQuery and streamQuery).
    prepare: (text: string) => {
      beforeEach?.();
      return cachedStatement(conn, text);
    },
  };
}

export type Connection = 'main' | 'reader' | 'reader-only';

/** Synchronous access to a compiled query's statement (SQLite only). */
export interface SqliteRun<R> {
  get(params: readonly unknown[]): R | undefined;
  all(params: readonly unknown[]): R[];
  /** For writes: how many rows changed. */
  run(params: readonly unknown[]): number;
}

export interface FastQuery<R> {
  /** Every row for `params` (in placeholder order). */
  all(params: readonly unknown[]): Promise<R[]>;
  first(params: readonly unknown[]): Promise<R | undefined>;
  /** For writes: how many rows changed. */
  run(params: readonly unknown[]): Promise<number>;
  /** Present when the query runs on a raw SQLite statement: the same, synchronously. */
  sqlite?: SqliteRun<R>;
}

export interface QueryOptions {
  /** SQLite: the connection it runs on (default `reader`). */
  on?: Connection;
  /** SQLite: rewrites the compiled SQL text (e.g. sqliteIndexHint); parameters must stay as they are. */
  sqliteSql?: (sql: string) => string;
}

/** A typed synchronous statement (SQLite only). */
export interface FastStatement<P extends unknown[], R> {
  get(...params: P): R | undefined;
  all(...params: P): R[];
  /** How many rows changed. */
  run(...params: P): number;
}

export interface StatementOptions {
  /** The connection it runs on (default `main`). */
  on?: Connection;
  /** Rows are the first column's value (better-sqlite3's `pluck`). */
  pluck?: boolean;
  /**
   * Rows are arrays of the column values in select order (better-sqlite3's `raw`): no object
   * with a property per column is built (~0.5 us less per row of 8 columns, hot lookups).
   */
  raw?: boolean;
  /**
   * Rows as with `raw` (arrays of the column values in select order), made by SQLite's
   * json_array() over the statement's columns and V8's JSON parser. better-sqlite3 12 on node 20
   * puts each value of a raw row into its array through V8's API (Object::Set, ~0.9k instructions
   * a column): 8 columns were ~7.5k instructions of a getUserInfo answer (callgrind, issue 15,
   * bench/README.md "Hot paths, a ninth pass (hot9b)"); one text column and JSON.parse cost less.
   * For TEXT, INTEGER, REAL and NULL values (json_array() refuses a BLOB); the statement's
   * column names must be distinct (they name the values json_array() reads).
   */
  json?: boolean;
}

export interface SqliteFast {
  /** A Kysely query (built with placeholder values, `arity` of them) compiled once for repeated use. */
  query<R>(query: Compilable<R>, arity: number, opts?: QueryOptions): FastQuery<R>;
  /** SQLite only (undefined on PostgreSQL, or `reader-only` without a reader): a statement over SQL text. */
  statement<P extends unknown[], R>(text: string, opts?: StatementOptions): FastStatement<P, R> | undefined;
}

/** What the fast path needs of a database handle (platform/db/index.ts `DatabaseHandle`). */
export interface FastHandle {
  db: Kysely<Database>;
  /** The raw main connection (SQLite only). */
  sqlite?: SQLite.Database;
  /** The read-only connection (SQLite files only). */
  reader?: SQLite.Database;
  /** The reader's turn-long read transaction (reader-turn.ts), with the reader. */
  readerTurn?: ReaderTurn;
}

const byHandle = new WeakMap<object, SqliteFast>();

/** The fast path of a handle (one per handle); `{ db }` alone gives the Kysely fallback. */
export function sqliteFast(handle: FastHandle): SqliteFast {
  let f = byHandle.get(handle);
  if (!f) byHandle.set(handle, (f = create(handle)));
  return f;
}

const noop = () => {};

function create(handle: FastHandle): SqliteFast {
  const conn = (on: Connection): SQLite.Database | undefined =>
    on === 'main' ? handle.sqlite : on === 'reader' ? (handle.reader ?? handle.sqlite) : handle.reader;
  // What runs before each statement (reader-turn.ts): a lookup on the reader joins the turn's read
  // transaction; a statement on the main connection ends it first.
  const turn = handle.readerTurn;
  const before = (c: SQLite.Database): (() => void) =>
    !turn ? noop : c === handle.reader ? turn.enter : c === handle.sqlite ? turn.release : noop;
  return {
    query<R>(query: Compilable<R>, arity: number, opts: QueryOptions = {}): FastQuery<R> {
      const compiled: CompiledQuery<R> = query.compile();
      if (compiled.parameters.length !== arity) {
        throw new Error(`fast query expects ${arity} parameters, compiled ${compiled.parameters.length}: ${compiled.sql}`);
      }
      const exec = (params: readonly unknown[]) => handle.db.executeQuery<R>({ ...compiled, parameters: params });
      const on = conn(opts.on ?? 'reader');
      if (on) {
        const text = opts.sqliteSql ? opts.sqliteSql(compiled.sql) : compiled.sql;
        // Prepared when first used: the migrations may not have run when the query is built.
        let stmt: SQLite.Statement | undefined;
        const st = () => (stmt ??= cachedStatement(on, text));
        const b = before(on);
        const sqlite: SqliteRun<R> = {
          get: (params) => (b(), st().get(...params) as R | undefined),
          all: (params) => (b(), st().all(...params) as R[]),
          run: (params) => (b(), st().run(...params).changes),
        };
        // The main connection inside a transaction is another request's (a caller inside its own
        // transaction passes its `trx` to Kysely instead): a statement run now would become part of
        // that transaction and be lost if it rolls back. Kysely's executor waits for it to end.
        const busy = on === handle.sqlite ? () => on.inTransaction : () => false;
        return {
          sqlite,
          all: async (params) => (busy() ? (await exec(params)).rows : sqlite.all(params)),
          first: async (params) => (busy() ? (await exec(params)).rows[0] : sqlite.get(params)),
          run: async (params) => (busy() ? Number((await exec(params)).numAffectedRows ?? 0) : sqlite.run(params)),
        };
      }
      return {
        all: async (params) => (await exec(params)).rows,
        first: async (params) => (await exec(params)).rows[0],
        run: async (params) => Number((await exec(params)).numAffectedRows ?? 0),
      };
    },
    statement<P extends unknown[], R>(text: string, opts: StatementOptions = {}): FastStatement<P, R> | undefined {
      const on = conn(opts.on ?? 'main');
      if (!on) return undefined;
      let stmt: SQLite.Statement | undefined;
      // A plucking, raw or json statement is its own (not the cached one, whose mode Kysely relies on).
      const st = () =>
        (stmt ??= opts.json
          ? on.prepare(jsonRowSql(on, text)).pluck()
          : opts.pluck
            ? on.prepare(text).pluck()
            : opts.raw
              ? on.prepare(text).raw()
              : cachedStatement(on, text));
      const b = before(on);
      if (opts.json) {
        return {
          get: (...params) => {
            b();
            const row = st().get(...params) as string | undefined;
            return row === undefined ? undefined : (JSON.parse(row) as R);
          },
          all: (...params) => (b(), (st().all(...params) as string[]).map((row) => JSON.parse(row) as R)),
          run: (...params) => (b(), st().run(...params).changes),
        };
      }
      return {
        get: (...params) => (b(), st().get(...params) as R | undefined),
        all: (...params) => (b(), st().all(...params) as R[]),
        run: (...params) => (b(), st().run(...params).changes),
      };
    },
  };
}

/**
 * A SELECT's rows as one column, the JSON array of its values: `SELECT json_array("c1", ...) FROM
 * (<text>)`. SQLite flattens the subquery (the plan is the SELECT's own: the hot lookups' plans
 * were checked with EXPLAIN QUERY PLAN); parameters stay in their order.
 */
function jsonRowSql(conn: SQLite.Database, text: string): string {
  const names = conn
    .prepare(text)
    .columns()
    .map((c) => c.name);
  if (new Set(names).size !== names.length) throw new Error(`json rows need distinct column names: ${names.join(', ')}`);
  return `SELECT json_array(${names.map((n) => `"${n.replaceAll('"', '""')}"`).join(', ')}) FROM (${text})`;
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
