/**
 * The SQLite job queue: the shared loop (runner.ts) over the durable `jobs` table.
 *
 * - One `UPDATE ... RETURNING` claims a batch of due jobs of a kind and sets the lease
 *   (`locked_until`, `locked_by` = this runner). A lease that expires (the process died) makes the
 *   job claimable again (at-least-once); the attempt it was on stays spent.
 * - Outcomes are written only where `locked_by` is still this runner, so a runner that lost its
 *   lease cannot finish or fail a job someone else has claimed since.
 * - Done jobs are deleted (in batches): the table holds only live and failed jobs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { DatabaseHandle, DB } from '../db/index.js';
import { createRunner, type JobStore, type RunnerOptions } from './runner.js';
import './tables.js';
import type { JobQueue } from './types.js';

export { defaultBackoffMs } from './runner.js';

/** Runner ids alive in this process (several queues may share a process, e.g. in tests). */
const liveRunners = new Set<string>();
export type SqliteRunnerOptions = RunnerOptions;

/** The `jobs` table as a JobStore (generic SQL; used on SQLite). */
export function sqliteJobStore(handle: DatabaseHandle): JobStore {
  const db: DB = handle.db;
  // host:pid:random, so that the jobs of a dead process on this host can be taken up at once.
  const host = hostname().slice(0, 30);
  const me = `${host}:${process.pid}:${randomBytes(6).toString('hex')}`;
  liveRunners.add(me);
  const ids = (list: Array<{ id: string }>) => list.map((x) => Number(x.id));

  return {
    async ready() {
      liveRunners.add(me);
    },

    async close() {
      liveRunners.delete(me);
    },

    async insert(kind, payload, o) {
      const now = Date.now();
      await (o.trx ?? db)
        .insertInto('jobs')
        .values({
          kind,
          payload: JSON.stringify(payload),
          state: 'queued',
          singleton_key: o.singletonKey ?? null,
          attempts: 0,
          max_attempts: o.maxAttempts,
          run_at: o.runAt ?? now,
          created_at: now,
          updated_at: now,
        })
        // The partial unique index on singleton_key makes a second live job with the same key a no-op.
        .onConflict((oc) => oc.doNothing())
        .execute();
    },

    async claim(kind, limit, leaseMs) {
      const now = Date.now();
      const due = db
        .selectFrom('jobs')
        .select('id')
        .where('kind', '=', kind)
        .where('state', '=', 'queued')
        .where('run_at', '<=', now)
        .orderBy('run_at')
        .orderBy('id')
        .limit(limit);
      const rows = await db
        .updateTable('jobs')
        .set({ state: 'running', attempts: sql`attempts + 1`, locked_until: now + leaseMs, locked_by: me, updated_at: now })
        .where('id', 'in', due)
        .returning(['id', 'payload', 'attempts', 'max_attempts'])
        .execute();
      return rows.map((r) => {
        let payload: unknown;
        let invalid = false;
        try {
          payload = JSON.parse(r.payload);
        } catch {
          invalid = true;
        }
        return { id: String(r.id), payload, invalid, attempt: r.attempts, maxAttempts: r.max_attempts };
      });
    },

    async complete(_kind, list) {
      await db.deleteFrom('jobs').where('id', 'in', list.map(Number)).where('locked_by', '=', me).execute();
    },

    async reschedule(_kind, id, delayMs, error, giveBack) {
      const now = Date.now();
      await db
        .updateTable('jobs')
        .set({
          state: 'queued',
          attempts: giveBack ? sql`attempts - 1` : sql`attempts`,
          run_at: now + delayMs,
          last_error: error,
          locked_by: null,
          locked_until: null,
          updated_at: now,
        })
        .where('id', '=', Number(id))
        .where('locked_by', '=', me)
        .execute();
    },

    async fail(_kind, id, error) {
      const r = await db
        .updateTable('jobs')
        .set({ state: 'failed', last_error: error, locked_by: null, locked_until: null, updated_at: Date.now() })
        .where('id', '=', Number(id))
        .where('locked_by', '=', me)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async renew(list, leaseMs) {
      await db
        .updateTable('jobs')
        .set({ locked_until: Date.now() + leaseMs })
        .where('id', 'in', ids(list))
        .where('locked_by', '=', me)
        .execute();
    },

    async release(list) {
      const r = await db
        .updateTable('jobs')
        .set({ state: 'queued', attempts: sql`attempts - 1`, locked_by: null, locked_until: null, run_at: Date.now(), updated_at: Date.now() })
        .where('id', 'in', ids(list))
        .where('state', '=', 'running')
        .where('locked_by', '=', me)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    async recoverExpired() {
      const now = Date.now();
      // Leases held by processes of this host that no longer exist need not run out first.
      const holders = await db.selectFrom('jobs').select('locked_by').distinct().where('state', '=', 'running').execute();
      const dead = holders.map((h) => h.locked_by).filter((by): by is string => by !== null && by !== me && isDeadLocalProcess(by, host));
      const r = await db
        .updateTable('jobs')
        .set({ state: 'queued', locked_by: null, locked_until: null, run_at: now, updated_at: now })
        .where('state', '=', 'running')
        .where((eb) => (dead.length ? eb.or([eb('locked_until', '<', now), eb('locked_by', 'in', dead)]) : eb('locked_until', '<', now)))
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    async counts(kind) {
      let q = db.selectFrom('jobs').select(['state', db.fn.countAll<number>().as('n')]).groupBy('state');
      if (kind) q = q.where('kind', '=', kind);
      const out: Record<string, number> = { queued: 0, running: 0, failed: 0 };
      for (const r of await q.execute()) out[r.state] = Number(r.n);
      return out;
    },
  };
}

/** True when `lockedBy` names a process on this host that is gone (pid reuse only delays recovery). */
function isDeadLocalProcess(lockedBy: string, host: string): boolean {
  const [h, pidText] = lockedBy.split(':');
  const pid = Number(pidText);
  if (h !== host || !Number.isInteger(pid) || pid <= 0) return false;
  // Our own pid: a runner of this process, or of an earlier process that had the same pid
  // (a container's pid 1 after a restart).
  if (pid === process.pid) return !liveRunners.has(lockedBy);
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Builds the SQLite job queue. */
export function createSqliteRunner(handle: DatabaseHandle, opts: RunnerOptions): JobQueue {
  return createRunner(sqliteJobStore(handle), opts);
}
