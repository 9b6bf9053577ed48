/**
 * A Kysely query built and compiled once, run many times with new values, on either dialect.
 *
 * Why: building a query (its frozen node tree) and compiling it to SQL costs more than running an
 * indexed statement. A claim (issue 15) built ~12 queries of the same few shapes; in the
 * service's CPU profile under 8 clients that was ~6% of the main thread (bench/README.md "Claims,
 * a ninth pass"). Here the query is written with Kysely as usual, once, with `slot('name')` where
 * a call's value goes; each call binds its values by name into the compiled parameters. Every
 * other value (a state written as a literal, 'queued') stays what the query was built with.
 *
 * A call runs on the executor it is given, the database or a caller's transaction, through
 * Kysely's executor as a built query would: the same connection handling (SQLite's one connection
 * lent to one transaction at a time, PostgreSQL's pool), only without the build and compile. On
 * SQLite the statement itself is prepared once (sqlite-fast.ts's cache, through the dialect).
 *
 * Only for queries whose shape does not change with the values: a list whose length varies
 * (`in (...)`), an optional condition or a column set chosen per call change the SQL text.
 */
import type { Compilable, CompiledQuery, Kysely, Transaction } from 'kysely';

/** A named placeholder in a query built for compileOnce. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * A placeholder for a value given at each call of a compileOnce query; typed as the value it
 * stands for, so the query builder accepts it where that value goes.
 */
export function slot<T>(name: string): T {
  return new Slot(name) as unknown as T;
}

/** Any Kysely handle: the database or a transaction (of any table set). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the executor's tables do not matter for a compiled query
type AnyExecutor = Kysely<any> | Transaction<any>;

export interface OnceCompiled<R, V> {
  all(ex: AnyExecutor, values: V): Promise<R[]>;
  first(ex: AnyExecutor, values: V): Promise<R | undefined>;
  /** For writes: how many rows changed. */
  run(ex: AnyExecutor, values: V): Promise<number>;
  /** The SQL text (for tests and logs). */
  readonly sql: string;
}

/**
 * Compiles `query` now (with the dialect of the handle it was built from) and answers a runner
 * whose calls bind `values` to the query's slots by name. A slot left without a value throws.
 */
export function compileOnce<R, V extends Record<string, unknown> = Record<string, unknown>>(query: Compilable<R>): OnceCompiled<R, V> {
  const compiled: CompiledQuery<R> = query.compile();
  const slots = compiled.parameters.map((p) => (p instanceof Slot ? p.name : undefined));
  const bind = (values: V): CompiledQuery<R> => ({
    ...compiled,
    parameters: compiled.parameters.map((p, i) => {
      const name = slots[i];
      if (name === undefined) return p;
      const v = values[name];
      if (v === undefined) throw new Error(`compileOnce: no value for slot "${name}" in ${compiled.sql}`);
      return v;
    }),
  });
  return {
    sql: compiled.sql,
    all: async (ex, values) => (await ex.executeQuery<R>(bind(values))).rows,
    first: async (ex, values) => (await ex.executeQuery<R>(bind(values))).rows[0],
    run: async (ex, values) => Number((await ex.executeQuery<R>(bind(values))).numAffectedRows ?? 0),
  };
}
