/**
 * A fleet-wide lock for start-up work (migrations, the job store's setup): on PostgreSQL a
 * session-level advisory lock (`pg_advisory_lock`) on one dedicated connection, so instances
 * started together on an empty database take turns instead of racing to create the same tables;
 * the lock goes with the session if its holder dies. On SQLite there is one server per DATA_DIR
 * (see instance-lock.ts) and SQLite serialises writers itself: the work just runs.
 */
import type { DatabaseHandle } from './index.js';

/** The lock every instance takes around its start-up schema work. */
export const STARTUP_LOCK = 'volunteer-hub:startup';

/**
 * Runs `fn` holding the advisory lock `name` (hashed with PostgreSQL's `hashtext`, stable on one
 * server). `onWait` is told when another session holds it, before waiting for it.
 */
export async function withAdvisoryLock<T>(handle: DatabaseHandle, name: string, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
  if (handle.dialect !== 'postgres' || !handle.pool) return fn();
  const client = await handle.pool.connect();
  let failed = false;
  try {
    const got = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [name]);
    if (!got.rows[0]?.ok) {
      onWait?.();
      await client.query('select pg_advisory_lock(hashtext($1))', [name]);
    }
    try {
      return await fn();
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [name]).catch(() => {
        failed = true;
      });
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // A session that failed may still hold the lock: destroy it rather than pool it.
    client.release(failed);
  }
}
