/**
 * Checks once that the PostgreSQL server the tests use is reachable, and says how to start it if
 * not. (Data-layer tests run on SQLite and PostgreSQL; TEST_DIALECTS=sqlite runs SQLite only.)
 */
import pg from 'pg';
import { PG_URL, testDialects } from './db.js';

export default async function setup(): Promise<void> {
  if (!testDialects().includes('postgres')) return;
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (${(err as Error).message}).\n` +
        `Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), ` +
        `point TEST_PG_URL at another server, or run SQLite only with TEST_DIALECTS=sqlite.`,
      { cause: err },
    );
  }
}
