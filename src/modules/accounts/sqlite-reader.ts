/**
 * Hot reads on SQLite (the session check and the address list run on every authenticated
 * request): statements prepared once on the shared read-only connection (platform/db/reader.ts).
 * Preparing once skips Kysely's per-call build/compile/prepare, which is most of the cost of a
 * 5-microsecond lookup. PostgreSQL uses Kysely as usual.
 */
import type SQLite from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';

export interface FastRead<A extends unknown[], R> {
  get(...args: A): R | undefined;
  all(...args: A): R[];
}

/**
 * Prepares a query compiled by Kysely with `markers` standing for its arguments; calls substitute
 * the real values at the markers' positions.
 */
export function fastRead<A extends unknown[], R>(reader: SQLite.Database, compiled: CompiledQuery, markers: unknown[]): FastRead<A, R> {
  const st = reader.prepare(compiled.sql);
  const base = [...compiled.parameters];
  const at = markers.map((m) => {
    const i = base.indexOf(m);
    if (i < 0) throw new Error('fastRead: marker not among the parameters');
    return i;
  });
  const params = (args: unknown[]) => {
    const p = base.slice();
    at.forEach((i, k) => (p[i] = args[k]));
    return p;
  };
  return {
    get: (...args) => st.get(...params(args)) as R | undefined,
    all: (...args) => st.all(...params(args)) as R[],
  };
}
