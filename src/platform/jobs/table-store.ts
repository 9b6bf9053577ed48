/**
 * The job store of both dialects: the shared loop (runner.ts) over our own durable `jobs` table.
 *
 * - One `UPDATE ... RETURNING` claims a batch of due jobs of a kind and sets the lease
 *   (`locked_until`, `locked_by` = this runner). PostgreSQL selects the batch `FOR UPDATE SKIP
 *   LOCKED`, so instances claiming at once take different jobs without waiting on each other;
 *   SQLite has one writer at a time, so the statement is the claim.
 * - Times (due, lease) come from the database's clock on PostgreSQL (`clock_timestamp()`), so
 *   instances whose clocks differ agree on when a lease ran out. SQLite's writers share one host,
 *   whose clock is the database's.
 * - A lease that expires (the process died, or lost the database for longer than the lease) makes
 *   the job claimable again (at-least-once); the attempt it was on stays spent.
 * - Outcomes are written only where `locked_by` is still this runner, so a runner that lost its
 *   lease cannot finish or fail a job someone else has claimed since; `renew` answers which leases
 *   are still ours, and the runner aborts the handlers of the others.
 * - PostgreSQL: an enqueue sends `NOTIFY vh_jobs, '<kind>'` in the enqueuing transaction (so it is
 *   delivered at commit); every instance LISTENs on its own connection and claims at once.
 * - Done jobs are deleted (in batches): the table holds only live and failed jobs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { sql, type RawBuilder } from 'kysely';
import type { DatabaseHandle, DB } from '../db/index.js';
import { compileOnce, slot } from '../db/compiled-query.js';
import type { Logger } from '../logger.js';
import { createRunner, type JobStore, type RunnerOptions } from './runner.js';
import './tables.js';
import type { JobQueue } from './types.js';

export { defaultBackoffMs } from './runner.js';

/** The channel instances LISTEN on (PostgreSQL). */
export const JOBS_CHANNEL = 'vh_jobs';

/** Runner ids alive in this process (several queues may share a process, e.g. in tests). */
const liveRunners = new Set<string>();

/** Milliseconds since the epoch by the database's clock (PostgreSQL) or this host's (SQLite). */
export function dbNowMs(dialect: 'sqlite' | 'postgres'): RawBuilder<number> {
  return dialect === 'postgres' ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint` : sql<number>`${Date.now()}`;
}

/** The `jobs` table as a JobStore, on SQLite or PostgreSQL. */
export function tableJobStore(handle: DatabaseHandle, logger?: Logger): JobStore {
  const db: DB = handle.db;
  const pgsql = handle.dialect === 'postgres';
  const now = () => dbNowMs(handle.dialect);
  // host:pid:random, so that the jobs of a dead process on this host can be taken up at once (SQLite).
  const host = hostname().slice(0, 30);
  const me = `${host}:${process.pid}:${randomBytes(6).toString('hex')}`;
  liveRunners.add(me);
  const ids = (list: Array<{ id: string }>) => list.map((x) => Number(x.id));
  // The enqueue and the claim run for every job (a certificate's deliver job: one enqueue, one or
  // two claims): built and compiled once (db/compiled-query.ts). SQLite's clock is a value bound
  // per call (`now`); PostgreSQL's is the database's, in the SQL text (dbNowMs).
  const clock = pgsql ? dbNowMs('postgres') : sql<number>`${slot<number>('now')}`;
  const insertJob = compileOnce<
    never,
    { kind: string; payload: string; singletonKey: string | null; maxAttempts: number; delay: number; now: number }
  >(
    db
      .insertInto('jobs')
      .values({
        kind: slot<string>('kind'),
        payload: slot<string>('payload'),
        state: 'queued',
        singleton_key: slot<string | null>('singletonKey'),
        attempts: 0,
        max_attempts: slot<number>('maxAttempts'),
        run_at: sql<number>`${clock} + ${slot<number>('delay')}`,
        created_at: clock,
        updated_at: clock,
      })
      // The partial unique index on singleton_key makes a second live job with the same key a no-op.
      .onConflict((oc) => oc.doNothing()),
  );
  let due = db
    .selectFrom('jobs')
    .select('id')
    .where('kind', '=', slot<string>('kind'))
    .where('state', '=', 'queued')
    .where('run_at', '<=', clock)
    .orderBy('run_at')
    .orderBy('id')
    .limit(slot<number>('limit'));
  if (pgsql) due = due.forUpdate().skipLocked();
  const claimDue = compileOnce<
    { id: number; payload: string; attempts: number; max_attempts: number },
    { kind: string; limit: number; leaseMs: number; now: number }
  >(
    db
      .updateTable('jobs')
      .set({
        state: 'running',
        attempts: sql`attempts + 1`,
        locked_until: sql`${clock} + ${slot<number>('leaseMs')}`,
        locked_by: me,
        updated_at: clock,
      })
      .where('id', 'in', due)
      .returning(['id', 'payload', 'attempts', 'max_attempts']),
  );
  let listener: pg.Client | undefined;
  let listening = false;
  let relisten: NodeJS.Timeout | undefined;

  /** LISTENs on a connection of its own; reconnects after a loss (polling covers the gap). */
  async function listen(wake: (kind: string) => void): Promise<void> {
    if (!pgsql || !handle.pool || !listening) return;
    // pg only for PostgreSQL's LISTEN: a SQLite service never loads it (issue 15, idle memory).
    const { default: pgm } = await import('pg');
    const client = new pgm.Client({ ...(handle.pool as unknown as { options: pg.ClientConfig }).options });
    const retry = () => {
      if (listener === client) listener = undefined;
      client.removeAllListeners('notification');
      client.end().catch(() => undefined);
      if (!listening || relisten) return;
      relisten = setTimeout(() => {
        relisten = undefined;
        void listen(wake);
      }, 1000);
      relisten.unref();
    };
    client.on('error', (err) => {
      logger?.warn({ err: err.message }, 'jobs: LISTEN connection lost; polling until it is back');
      retry();
    });
    client.on('end', retry);
    client.on('notification', (n) => wake(n.payload ?? ''));
    try {
      await client.connect();
      await client.query(`LISTEN ${JOBS_CHANNEL}`);
      listener = client;
      // Something may have been enqueued while we were not listening.
      wake('');
    } catch (err) {
      logger?.warn({ err: (err as Error).message }, 'jobs: could not LISTEN; polling until it works');
      retry();
    }
  }

  return {
    ready() {
      liveRunners.add(me);
      return Promise.resolve();
    },

    wakesAtCommit: () => !pgsql || listener !== undefined,

    async subscribe(wake) {
      if (!pgsql) return;
      listening = true;
      await listen(wake);
    },

    async close() {
      liveRunners.delete(me);
      listening = false;
      clearTimeout(relisten);
      relisten = undefined;
      const l = listener;
      listener = undefined;
      if (l) {
        l.removeAllListeners('end');
        await l.end().catch(() => undefined);
      }
    },

    async insert(kind, payload, o) {
      const ex = o.trx ?? db;
      // Whole milliseconds: run_at is a bigint on PostgreSQL, and a runAt computed from
      // performance.now() has a fraction (which made the INSERT fail there: a certificates replan
      // under load never got queued). Rounded up: a job never runs before the runAt asked for.
      const delay = o.runAt === undefined ? 0 : Math.max(0, Math.ceil(o.runAt - Date.now()));
      await insertJob.run(ex, {
        kind,
        payload: JSON.stringify(payload),
        singletonKey: o.singletonKey ?? null,
        maxAttempts: o.maxAttempts,
        delay,
        now: Date.now(),
      });
      if (pgsql) await sql`select pg_notify(${JOBS_CHANNEL}, ${kind})`.execute(ex);
    },

    async claim(kind, limit, leaseMs) {
      const rows = await claimDue.all(db, { kind, limit, leaseMs, now: Date.now() });
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
      await db
        .updateTable('jobs')
        .set({
          state: 'queued',
          attempts: giveBack ? sql`attempts - 1` : sql`attempts`,
          run_at: sql`${now()} + ${Math.round(delayMs)}`,
          last_error: error,
          locked_by: null,
          locked_until: null,
          updated_at: now(),
        })
        .where('id', '=', Number(id))
        .where('locked_by', '=', me)
        .execute();
    },

    async fail(_kind, id, error) {
      const r = await db
        .updateTable('jobs')
        .set({ state: 'failed', last_error: error, locked_by: null, locked_until: null, updated_at: now() })
        .where('id', '=', Number(id))
        .where('locked_by', '=', me)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async renew(list, leaseMs) {
      const rows = await db
        .updateTable('jobs')
        .set({ locked_until: sql`${now()} + ${leaseMs}` })
        .where('id', 'in', ids(list))
        .where('state', '=', 'running')
        .where('locked_by', '=', me)
        .returning('id')
        .execute();
      return rows.map((r) => String(r.id));
    },

    async release(list) {
      const r = await db
        .updateTable('jobs')
        .set({ state: 'queued', attempts: sql`attempts - 1`, locked_by: null, locked_until: null, run_at: now(), updated_at: now() })
        .where('id', 'in', ids(list))
        .where('state', '=', 'running')
        .where('locked_by', '=', me)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    async wake(kind, keyPrefix) {
      const r = await db
        .updateTable('jobs')
        .set({ run_at: now(), updated_at: now() })
        .where('kind', '=', kind)
        .where('state', '=', 'queued')
        .where('singleton_key', 'like', `${keyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
        .where('run_at', '>', now())
        .executeTakeFirst();
      if (pgsql) await sql`select pg_notify(${JOBS_CHANNEL}, ${kind})`.execute(db);
      return Number(r.numUpdatedRows);
    },

    async recoverExpired() {
      // SQLite: leases held by processes of this host that no longer exist need not run out first.
      // PostgreSQL: the holder may be on another host; its lease is the only sign.
      let dead: string[] = [];
      if (!pgsql) {
        const holders = await db.selectFrom('jobs').select('locked_by').distinct().where('state', '=', 'running').execute();
        dead = holders.map((h) => h.locked_by).filter((by): by is string => by !== null && by !== me && isDeadLocalProcess(by, host));
      }
      const r = await db
        .updateTable('jobs')
        .set({ state: 'queued', locked_by: null, locked_until: null, run_at: now(), updated_at: now() })
        .where('state', '=', 'running')
        .where((eb) =>
          dead.length ? eb.or([eb('locked_until', '<', now()), eb('locked_by', 'in', dead)]) : eb('locked_until', '<', now()),
        )
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    async counts(kind) {
      let q = db
        .selectFrom('jobs')
        .select(['state', db.fn.countAll<number>().as('n')])
        .groupBy('state');
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

/** Builds the job queue over the `jobs` table. */
export function createTableQueue(handle: DatabaseHandle, opts: RunnerOptions): JobQueue {
  return createRunner(tableJobStore(handle, opts.logger), opts);
}
