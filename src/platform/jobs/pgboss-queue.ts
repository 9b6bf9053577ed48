/**
 * The PostgreSQL job queue: the shared loop (runner.ts) over pg-boss 10, so that several
 * instances share the work (pg-boss claims with FOR UPDATE SKIP LOCKED).
 *
 * pg-boss does: its schema and migrations, one queue (partition) per kind (`createQueue`, with
 * retryLimit = maxAttempts - 1, retryDelay/backoff from the definition and expireInSeconds = the
 * lease), `send` (in the caller's Kysely transaction through pg-boss's `db: { executeSql }` send
 * option), `fetch` (the claim), `complete`, and maintenance: jobs whose lease expired (a dead
 * process) go back to `retry`; finished jobs are archived and later deleted.
 *
 * We do, with one UPDATE each on pg-boss's job table (schema stable within pg-boss 10):
 * - reschedule with our exact backoff (`state = 'retry'`, `start_after`); RetryLater also gives
 *   the attempt back (`retry_count - 1`: pg-boss counts a run of a started job at fetch), which is
 *   the same as "re-send with startAfter without counting", but atomic;
 * - fail at once (PermanentJobError / last attempt) so `onFailed` runs once;
 * - renew leases of running jobs (`started_on = now()`; pg-boss expires `started_on + expire_in`);
 * - release on stop (back to `retry` now, attempt given back).
 * Singleton keys: pg-boss's standard policy does not enforce `singletonKey`, so enqueue takes a
 * transaction-scoped advisory lock on the key and skips the send when a live job has it.
 */
import { CompiledQuery, sql } from 'kysely';
import type PgBoss from 'pg-boss';
import type { DatabaseHandle, Executor } from '../db/index.js';
import { createRunner, type JobStore, type RunnerOptions } from './runner.js';
import type { JobQueue } from './types.js';

export interface PgBossQueueOptions extends RunnerOptions {
  /** pg-boss's schema. Default 'pgboss'. */
  schema?: string;
}

function executorDb(ex: Executor): PgBoss.Db {
  return {
    async executeSql(text, values) {
      const r = await ex.executeQuery(CompiledQuery.raw(text, values ?? []));
      return { rows: r.rows as any[] };
    },
  };
}

/** pg-boss's job table as a JobStore. */
export function pgBossJobStore(handle: DatabaseHandle, opts: PgBossQueueOptions): JobStore {
  const schema = opts.schema ?? 'pgboss';
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid pg-boss schema name: ${schema}`);
  const job = sql.raw(`${schema}.job`);
  const db = handle.db;
  const leaseSeconds = Math.max(1, Math.ceil((opts.leaseMs ?? 30_000) / 1000));
  let boss: PgBoss | undefined;

  function retryOptions(def: { maxAttempts: number; backoffMs: (attempt: number) => number }) {
    return {
      retryLimit: Math.max(0, def.maxAttempts - 1),
      retryDelay: Math.max(1, Math.round(def.backoffMs(1) / 1000)),
      retryBackoff: true,
      expireInSeconds: leaseSeconds,
    };
  }

  const byKind = (list: Array<{ kind: string; id: string }>) => {
    const m = new Map<string, string[]>();
    for (const { kind, id } of list) m.set(kind, [...(m.get(kind) ?? []), id]);
    return m;
  };

  return {
    async ready() {
      if (boss) return;
      const pool = handle.pool;
      // Loaded here: a SQLite service never holds pg-boss in memory.
      const { default: Boss } = await import('pg-boss');
      const b = new Boss({
        // pg-boss shares the application's pool (it does not open its own).
        db: pool ? { executeSql: (text, values) => pool.query(text, values) } : executorDb(db),
        schema,
        supervise: true,
        schedule: false,
        migrate: true,
        // Expired leases are found by maintenance: run it often enough for the lease to mean something.
        maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.round(leaseSeconds / 2))),
        // Finished jobs leave the job table after an hour and are gone after two days.
        archiveCompletedAfterSeconds: 3600,
        deleteAfterDays: 2,
      });
      b.on('error', (err) => opts.logger.error({ err }, 'jobs: pg-boss error'));
      await b.start();
      // For the singleton check at enqueue (pg-boss indexes singleton keys only for its own policies).
      try {
        await sql`CREATE INDEX IF NOT EXISTS job_vh_singleton ON ${job} (name, singleton_key) WHERE singleton_key IS NOT NULL`.execute(db);
      } catch (err) {
        // Another instance created it at the same moment.
        opts.logger.debug({ err }, 'jobs: singleton index');
      }
      boss = b;
    },

    async prepareKind(kind, def) {
      const exists = await sql`select 1 from ${sql.raw(`${schema}.queue`)} where name = ${kind}`.execute(db);
      if (exists.rows.length) return;
      // createQueue adds a partition with foreign keys to pg-boss's queue table: two instances
      // doing it at once can deadlock (PostgreSQL aborts one). The loser tries again.
      for (let attempt = 1; ; attempt++) {
        try {
          await boss!.createQueue(kind, { name: kind, policy: 'standard', ...retryOptions(def) });
          return;
        } catch (err) {
          if ((err as { code?: string }).code !== '40P01' || attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 50 * attempt + Math.floor(Math.random() * 50)));
        }
      }
    },

    async insert(kind, payload, o) {
      const send = async (ex: Executor) => {
        if (o.singletonKey) {
          await sql`select pg_advisory_xact_lock(hashtext(${`jobs:${kind}:${o.singletonKey}`}))`.execute(ex);
          const live = await sql`select 1 from ${job} where name = ${kind} and singleton_key = ${o.singletonKey} and state < 'completed' limit 1`.execute(ex);
          if (live.rows.length) return;
        }
        await boss!.send(kind, { p: payload }, {
          db: executorDb(ex),
          singletonKey: o.singletonKey,
          startAfter: o.runAt !== undefined ? new Date(o.runAt) : undefined,
          ...retryOptions({ maxAttempts: o.maxAttempts, backoffMs: () => 1000 }),
        });
      };
      if (o.trx) await send(o.trx);
      else if (o.singletonKey) await db.transaction().execute(send);
      else await send(db);
    },

    async claim(kind, limit) {
      const rows = await boss!.fetch<{ p: unknown }>(kind, { batchSize: limit, includeMetadata: true });
      return rows.map((r) => ({
        id: r.id,
        payload: r.data?.p,
        invalid: !r.data || !('p' in r.data),
        attempt: r.retryCount + 1,
        maxAttempts: r.retryLimit + 1,
      }));
    },

    async complete(kind, ids) {
      await boss!.complete(kind, ids);
    },

    async reschedule(kind, id, delayMs, error, giveBack) {
      await sql`
        update ${job} set state = 'retry',
          start_after = now() + ${delayMs} * interval '1 millisecond',
          retry_count = retry_count - ${giveBack ? 1 : 0},
          output = jsonb_build_object('message', ${error}::text)
        where name = ${kind} and id = ${id}::uuid and state = 'active'`.execute(db);
    },

    async fail(kind, id, error) {
      const r = await sql`
        update ${job} set state = 'failed', completed_on = now(), output = jsonb_build_object('message', ${error}::text)
        where name = ${kind} and id = ${id}::uuid and state = 'active' returning id`.execute(db);
      return r.rows.length > 0;
    },

    async renew(list) {
      for (const [kind, ids] of byKind(list)) {
        await sql`update ${job} set started_on = now() where name = ${kind} and id = any(${ids}::uuid[]) and state = 'active'`.execute(db);
      }
    },

    async release(list) {
      let n = 0;
      for (const [kind, ids] of byKind(list)) {
        const r = await sql`
          update ${job} set state = 'retry', start_after = now(), retry_count = retry_count - 1
          where name = ${kind} and id = any(${ids}::uuid[]) and state = 'active' returning id`.execute(db);
        n += r.rows.length;
      }
      return n;
    },

    async counts(kind) {
      const r = await sql<{ state: string; n: number }>`
        select state::text as state, count(*)::int as n from ${job}
        where ${kind === undefined ? sql`true` : sql`name = ${kind}`} group by state`.execute(db);
      const out: Record<string, number> = { queued: 0, running: 0, failed: 0 };
      for (const row of r.rows) {
        const key = row.state === 'created' || row.state === 'retry' ? 'queued' : row.state === 'active' ? 'running' : row.state;
        out[key] = (out[key] ?? 0) + Number(row.n);
      }
      delete out.completed;
      return out;
    },

    async close() {
      const b = boss;
      boss = undefined;
      await b?.stop({ graceful: false, wait: true, close: false });
    },
  };
}

/** Builds the PostgreSQL job queue. */
export function createPgBossQueue(handle: DatabaseHandle, opts: PgBossQueueOptions): JobQueue {
  return createRunner(pgBossJobStore(handle, opts), opts);
}
