/**
 * The job queue on both dialects (our `jobs` table): retries with backoff, permanent failures,
 * RetryLater, singleton keys, the outbox rule (transactional enqueue), crash recovery of a
 * SIGKILLed worker process, LISTEN/NOTIFY wake-ups, lost leases, and the import of pg-boss's jobs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type DatabaseConfig, type DatabaseHandle } from '../../src/platform/db/index.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { createJobQueue, PermanentJobError, RetryLater, type JobQueue } from '../../src/platform/jobs/index.js';
import { createRunner } from '../../src/platform/jobs/runner.js';
import { tableJobStore } from '../../src/platform/jobs/table-store.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, testDialects } from '../helpers/db.js';
import { waitFor } from './helpers.js';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

describe.each(testDialects())('job queue on %s', (dialect) => {
  let dir: string;
  let database: { config: DatabaseConfig; drop(): Promise<void> };
  let handle: DatabaseHandle;
  const queues: JobQueue[] = [];

  function queue(): JobQueue {
    const q = createJobQueue(handle, { logger, concurrency: 2, leaseMs: 1000, pollMs: 50 });
    queues.push(q);
    return q;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vh-jobs-'));
    database = await createTestDatabase(dialect, dir);
    handle = openDatabase(database.config);
    await migrateToLatest(handle.db);
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.stop(2000);
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries a failing job with backoff until it succeeds', async () => {
    const q = queue();
    const seen: Array<{ attempt: number; at: number }> = [];
    q.define<{ x: number }>('t.retry', {
      backoffMs: (n) => 100 * n,
      handler: async (p, ctx) => {
        expect(p).toEqual({ x: 1 });
        seen.push({ attempt: ctx.attempt, at: Date.now() });
        if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
      },
    });
    await q.start();
    await q.enqueue('t.retry', { x: 1 });
    await waitFor(() => seen.length === 3, 15_000, 'three attempts');
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    // The backoff was waited for between attempts (100 ms after the first, 200 ms after the second).
    expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(90);
    expect(seen[2].at - seen[1].at).toBeGreaterThanOrEqual(190);
    await waitFor(async () => (await q.counts('t.retry')).queued === 0 && (await q.counts('t.retry')).running === 0, 5000, 'job done');
    expect((await q.counts('t.retry')).failed ?? 0).toBe(0);
  });

  it('fails a job for good on PermanentJobError and after maxAttempts, calling onFailed once', async () => {
    const q = queue();
    const failed: Array<{ p: unknown; message: string }> = [];
    let permanentRuns = 0;
    let flakyRuns = 0;
    q.define<{ id: string }>('t.perm', {
      handler: async () => {
        permanentRuns++;
        throw new PermanentJobError('550 no such user');
      },
      onFailed: async (p, err) => void failed.push({ p, message: err.message }),
    });
    q.define<{ id: string }>('t.flaky', {
      maxAttempts: 2,
      backoffMs: () => 20,
      handler: async (_p, ctx) => {
        flakyRuns++;
        throw new Error(`still broken (${ctx.attempt})`);
      },
      onFailed: async (p, err) => void failed.push({ p, message: err.message }),
    });
    await q.start();
    await q.enqueue('t.perm', { id: 'a' });
    await q.enqueue('t.flaky', { id: 'b' });
    await waitFor(() => failed.length === 2, 15_000, 'two failures');
    // Both rows failed for good and nothing of either kind is left to run: no later run can add
    // a failure or a run (no fixed "nothing more happens" window needed).
    await waitFor(async () => (await q.counts('t.perm')).failed === 1 && (await q.counts('t.flaky')).failed === 1, 5000, 'both failed');
    expect(await q.counts('t.perm')).toMatchObject({ queued: 0, running: 0 });
    expect(await q.counts('t.flaky')).toMatchObject({ queued: 0, running: 0 });
    expect(failed).toHaveLength(2);
    expect(failed).toContainEqual({ p: { id: 'a' }, message: '550 no such user' });
    expect(failed).toContainEqual({ p: { id: 'b' }, message: 'still broken (2)' });
    expect(permanentRuns).toBe(1);
    expect(flakyRuns).toBe(2);
    expect((await q.counts('t.perm')).failed).toBe(1);
    expect((await q.counts('t.flaky')).failed).toBe(1);
  });

  it('takes a runAt (and a RetryLater delay) that is not a whole number of ms', async () => {
    // A delay computed from performance.now() is fractional (certificates' replan delay is ten
    // times how long a plan took: 368.47 ms under load gave 3684.7 ms). PostgreSQL's run_at is a
    // bigint: the fraction made the INSERT fail ("invalid input syntax for type bigint"), so a
    // campaign's replan never got queued and it stayed sending (CI, issue of fleet-figures.test.ts).
    const q = queue();
    const ran: number[] = [];
    let retried = false;
    q.define<{ n: number }>('t.fraction', {
      handler: async (p) => {
        if (p.n === 2 && !retried) {
          retried = true;
          throw new RetryLater('again', 20.5);
        }
        ran.push(p.n);
      },
    });
    await q.start();
    await q.enqueue('t.fraction', { n: 1 }, { runAt: Date.now() + 30.25 });
    await q.enqueue('t.fraction', { n: 2 }, { runAt: Date.now() + 0.75, singletonKey: 't.fraction:2' });
    // A singleton already queued: the second enqueue is the no-op it always was, not an error.
    await q.enqueue('t.fraction', { n: 2 }, { runAt: Date.now() + 3684.7195599999395, singletonKey: 't.fraction:2' });
    await waitFor(() => ran.length === 2, 10_000, 'both jobs ran');
    expect(ran.sort()).toEqual([1, 2]);
  });

  it('RetryLater reschedules without spending an attempt', async () => {
    const q = queue();
    const attempts: number[] = [];
    let onFailedCalls = 0;
    q.define('t.later', {
      maxAttempts: 1,
      handler: async (_p, ctx) => {
        attempts.push(ctx.attempt);
        if (attempts.length < 4) throw new RetryLater('quota used up', 30);
      },
      onFailed: async () => void onFailedCalls++,
    });
    await q.start();
    await q.enqueue('t.later', {});
    await waitFor(() => attempts.length === 4, 15_000, 'four runs');
    expect(attempts).toEqual([1, 1, 1, 1]);
    await waitFor(async () => (await q.counts('t.later')).queued === 0 && (await q.counts('t.later')).running === 0, 5000, 'done');
    expect(onFailedCalls).toBe(0);
  });

  it('prepares many new kinds at once, from enqueues and a running loop, without losing a kind', async () => {
    // (Under pg-boss each new kind was a queue (DDL); side by side these used to deadlock, and the
    // failed preparation then stopped that kind for good.)
    const q = queue();
    const kinds = Array.from({ length: 8 }, (_, i) => `t.many${i}`);
    const ran = new Set<string>();
    for (const k of kinds) q.define(k, { handler: async () => void ran.add(k) });
    await q.start();
    await Promise.all(kinds.map((k) => q.enqueue(k, { k })));
    await waitFor(() => ran.size === kinds.length, 15_000, 'every kind to run');
  });

  it('keeps one live job per singleton key', async () => {
    const q = queue();
    let runs = 0;
    q.define('t.single', { handler: async () => void runs++ });
    await q.enqueue('t.single', { n: 1 }, { singletonKey: 'campaign:1' });
    await q.enqueue('t.single', { n: 2 }, { singletonKey: 'campaign:1' });
    await q.enqueue('t.single', { n: 3 }, { singletonKey: 'campaign:2' });
    expect((await q.counts('t.single')).queued).toBe(2);
    await q.start();
    await waitFor(() => runs === 2, 10_000, 'two runs');
    // Both jobs are done and no job of the kind is left in the table: nothing can run a third time.
    await waitFor(async () => Object.values(await q.counts('t.single')).every((n) => n === 0), 5000, 'no job left');
    expect(runs).toBe(2);
  });

  it('writes the job in the caller transaction: a rollback leaves no job', async () => {
    const q = queue();
    const got: unknown[] = [];
    q.define('t.trx', { handler: async (p) => void got.push(p) });
    await q.start();
    await expect(
      handle.db.transaction().execute(async (trx) => {
        await q.enqueue('t.trx', { n: 'rolled back' }, { trx });
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    // The rolled-back job is not in the table, so no runner can ever take it.
    expect(await q.counts('t.trx')).toMatchObject({ queued: 0, running: 0, failed: 0 });
    await handle.db.transaction().execute(async (trx) => {
      await q.enqueue('t.trx', { n: 'committed' }, { trx });
    });
    await waitFor(() => got.length === 1, 10_000, 'committed job');
    await waitFor(async () => Object.values(await q.counts('t.trx')).every((n) => n === 0), 5000, 'no job left');
    expect(got).toEqual([{ n: 'committed' }]);
  });

  // Waits on events (the child's line, the survivor's run), not on wall-clock budgets: a loaded
  // machine only makes it slower (it once ran out of a 30 s budget for the child's start at load 20).
  // The test's own limit is the backstop.
  it('takes up again the job of a worker killed in the middle of it', { timeout: 300_000 }, async () => {
    const producer = queue();
    await producer.enqueue('test.crash', { n: 7 });
    // SQLite sees that the lease holder's process is gone and does not wait for a 60 s lease;
    // PostgreSQL (possibly other hosts) waits for the lease, 1 s here.
    const lease = dialect === 'sqlite' ? 60_000 : 1000;
    const worker = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(database.config), String(lease)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('started 7 attempt 1')) resolve();
        });
        child.once('exit', (code, signal) => reject(new Error(`the child ended (${code ?? signal}) before starting the job: ${err}`)));
      });
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    expect((await producer.counts('test.crash')).running).toBe(1);

    const survivor = createJobQueue(handle, { logger, concurrency: 2, leaseMs: lease, pollMs: 50 });
    queues.push(survivor);
    const runs: Array<{ n: number; attempt: number }> = [];
    const tookUp = new Promise<void>((resolve) =>
      survivor.define<{ n: number }>('test.crash', {
        handler: async (p, ctx) => {
          runs.push({ n: p.n, attempt: ctx.attempt });
          resolve();
        },
      }),
    );
    await survivor.start();
    await tookUp;
    expect(runs).toEqual([{ n: 7, attempt: 2 }]);
    await vi.waitFor(async () => expect(await survivor.counts('test.crash')).toMatchObject({ queued: 0, running: 0 }), {
      timeout: 60_000,
      interval: 25,
    });
    expect(runs).toHaveLength(1);
  });

  it('stop() waits for running jobs, then releases the rest for another runner', async () => {
    const q = queue();
    const started: number[] = [];
    let finished = 0;
    q.define<{ n: number; ms: number }>('t.stop', {
      concurrency: 2,
      handler: async (p, ctx) => {
        started.push(p.n);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, p.ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(t);
            resolve();
          });
        });
        if (ctx.signal.aborted) throw new RetryLater('stopping', 0);
        finished++;
      },
    });
    await q.enqueue('t.stop', { n: 1, ms: 50 });
    await q.enqueue('t.stop', { n: 2, ms: 60_000 });
    await q.start();
    await waitFor(() => started.length === 2, 10_000, 'both started');
    await q.stop(500);
    expect(finished).toBe(1);
    // The long job is queued again with its attempt given back.
    expect(await q.counts('t.stop')).toMatchObject({ queued: 1, running: 0 });
    const next = queue();
    const attempts: number[] = [];
    next.define<{ n: number }>('t.stop', { handler: async (_p, ctx) => void attempts.push(ctx.attempt) });
    await next.start();
    await waitFor(() => attempts.length === 1, 10_000, 'released job taken');
    expect(attempts).toEqual([1]);
  });

  it('tells a long handler at once that the queue is stopping, so it wraps up well inside the grace period', async () => {
    const q = queue();
    let steps = 0;
    let sawStopping = false;
    q.define('t.long', {
      handler: async (_p, ctx) => {
        // A mailing-like loop: one small step at a time until told to stop.
        while (!ctx.stopping.aborted) {
          steps++;
          await new Promise((r) => setTimeout(r, 5));
        }
        sawStopping = !ctx.signal.aborted;
        throw new RetryLater('the queue is stopping', 0);
      },
    });
    await q.enqueue('t.long', {});
    await q.start();
    await waitFor(() => steps > 3, 10_000, 'the loop to run');
    // With a grace period far longer than the test's time limit: only `stopping` can end it in time.
    await q.stop(60_000);
    expect(sawStopping).toBe(true);
    expect(await q.counts('t.long')).toMatchObject({ queued: 1, running: 0 });
  });

  it('two runners on one database share the work, each job running once', async () => {
    const a = queue();
    const b = queue();
    const runs = new Map<number, number>();
    const by = { a: 0, b: 0 };
    for (const [q, name] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      q.define<{ n: number }>('t.shared', {
        concurrency: 3,
        handler: async (p) => {
          by[name]++;
          runs.set(p.n, (runs.get(p.n) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 5));
        },
      });
    }
    await handle.db.transaction().execute(async (trx) => {
      for (let n = 0; n < 60; n++) await a.enqueue('t.shared', { n }, { trx });
    });
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => runs.size === 60, 20_000, 'all jobs run');
    await waitFor(async () => (await a.counts('t.shared')).running === 0 && (await a.counts('t.shared')).queued === 0, 5000, 'settled');
    expect([...runs.values()].every((c) => c === 1)).toBe(true);
    expect(by.a + by.b).toBe(60);
  });

  it('wakes another instance at once through NOTIFY (PostgreSQL), not at its next poll', async () => {
    if (dialect !== 'postgres') return;
    // A poll interval far longer than the test's time limit: only the notification can wake it.
    const sleeper = createJobQueue(handle, { logger, concurrency: 1, leaseMs: 1000, pollMs: 600_000 });
    queues.push(sleeper);
    const got: unknown[] = [];
    sleeper.define('t.notify', { handler: async (p) => void got.push(p) });
    await sleeper.start();
    await waitFor(() => true, 10);
    const producer = queue();
    await handle.db.transaction().execute(async (trx) => {
      await producer.enqueue('t.notify', { n: 1 }, { trx });
    });
    await waitFor(() => got.length === 1, 10_000, 'the sleeping instance to be woken');
  });

  it('runs a job enqueued in a transaction right after the commit, with no poll and no timer', async () => {
    // A poll interval far longer than the test: only the commit itself can wake the runner
    // (SQLite: the claim queued behind the transaction; PostgreSQL: the NOTIFY at commit).
    const q = createJobQueue(handle, { logger, concurrency: 1, leaseMs: 1000, pollMs: 600_000 });
    queues.push(q);
    const ran: number[] = [];
    q.define('t.commit', { handler: async () => void ran.push(Date.now()) });
    await q.start();
    await new Promise((r) => setTimeout(r, 50));
    for (let n = 0; n < 5; n++) {
      await handle.db.transaction().execute(async (trx) => {
        await q.enqueue('t.commit', { n }, { trx, singletonKey: `t.commit:${n}` });
      });
      const committed = Date.now();
      await waitFor(() => ran.length === n + 1, 10_000, `job ${n} after its commit`);
      expect(ran[n] - committed).toBeLessThan(1000);
    }
  });

  it('does not lose a wake-up that arrives while a claim is on its way back', async () => {
    // The race CI met (PostgreSQL, stop 25): a claim looked before the job's commit, the wake-up
    // for the job came while that claim was still on its way back, and the empty answer then
    // cleared "maybe more": the job waited for the next poll. Here the real store's claim is held
    // after it ran (empty) until the enqueue's wake-up has come; no poll can hide a lost wake-up.
    const store = tableJobStore(handle, logger);
    let hold: Promise<void> | undefined;
    let heldClaim: (() => void) | undefined;
    const claimHeld = new Promise<void>((r) => (heldClaim = r));
    const q = createRunner(
      {
        ...store,
        async claim(kind, limit, lease) {
          const rows = await store.claim(kind, limit, lease);
          if (kind === 't.race' && hold) {
            const h = hold;
            hold = undefined;
            heldClaim!();
            await h;
          }
          return rows;
        },
      },
      { logger, concurrency: 1, leaseMs: 1000, pollMs: 600_000 },
    );
    queues.push(q);
    const ran: unknown[] = [];
    q.define('t.race', { handler: async (p) => void ran.push(p) });
    await q.start();
    await new Promise((r) => setTimeout(r, 50));
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    void q.wake('t.race', 'none'); // a claim that finds nothing, held on its way back
    await claimHeld;
    await q.enqueue('t.race', { n: 1 }); // its wake-up comes while that claim is out
    await new Promise((r) => setTimeout(r, 20));
    release();
    await waitFor(() => ran.length === 1, 5_000, 'the job enqueued while the claim was out');
    expect(ran).toEqual([{ n: 1 }]);
  });

  it('stops a handler whose lease another runner took over', async () => {
    const q = queue();
    let aborted = false;
    q.define('t.lease', {
      handler: async (_p, ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        aborted = true;
        throw new RetryLater('lost the lease', 0);
      },
    });
    await q.enqueue('t.lease', {});
    await q.start();
    await waitFor(async () => (await q.counts('t.lease')).running === 1, 10_000, 'running');
    // Another runner's claim after the lease ran out (as when this one lost the database for longer than the lease).
    await handle.db.updateTable('jobs').set({ locked_by: 'elsewhere:1:x' }).where('kind', '=', 't.lease').execute();
    await waitFor(() => aborted, 10_000, 'the handler to be stopped');
    // Its outcome is not written over the other runner's claim.
    const row = await handle.db.selectFrom('jobs').select(['state', 'locked_by']).where('kind', '=', 't.lease').executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'running', locked_by: 'elsewhere:1:x' });
    await handle.db.deleteFrom('jobs').where('kind', '=', 't.lease').execute();
  });
});

describe.runIf(testDialects().includes('postgres'))('moving from pg-boss (PostgreSQL)', () => {
  it("imports pg-boss's pending jobs once and leaves its tables alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vh-jobs-'));
    const database = await createTestDatabase('postgres', dir);
    const handle = openDatabase(database.config);
    try {
      // The shape of pg-boss 10's job table, as an older version of the service left it.
      await sql`create schema pgboss`.execute(handle.db);
      await sql`create type pgboss.job_state as enum ('created', 'retry', 'active', 'completed', 'cancelled', 'failed')`.execute(handle.db);
      await sql`create table pgboss.job (id uuid primary key default gen_random_uuid(), name text not null, data jsonb,
        state pgboss.job_state not null default 'created', retry_limit integer not null default 2, retry_count integer not null default 0,
        start_after timestamptz not null default now(), created_on timestamptz not null default now(), singleton_key text)`.execute(
        handle.db,
      );
      await sql`insert into pgboss.job (name, data, state, retry_count, retry_limit, singleton_key) values
        ('certificates.deliver', '{"p": {"recipientId": 7}}', 'created', 0, 9, 'certificates.deliver:7'),
        ('mail.send', '{"p": {"to": "a@example.org"}}', 'retry', 3, 9, null),
        ('certificates.send', '{"p": {"campaignId": 2}}', 'active', 1, 49, 'certificates.send:2'),
        ('mail.send', '{"p": {"to": "done@example.org"}}', 'completed', 0, 9, null),
        ('mail.send', '{"p": {"to": "gone@example.org"}}', 'failed', 9, 9, null)`.execute(handle.db);
      await migrateToLatest(handle.db);
      const jobs = await handle.db
        .selectFrom('jobs')
        .select(['kind', 'payload', 'state', 'attempts', 'max_attempts', 'singleton_key'])
        .orderBy('kind')
        .execute();
      expect(jobs).toEqual([
        {
          kind: 'certificates.deliver',
          payload: '{"recipientId": 7}',
          state: 'queued',
          attempts: 0,
          max_attempts: 10,
          singleton_key: 'certificates.deliver:7',
        },
        {
          kind: 'certificates.send',
          payload: '{"campaignId": 2}',
          state: 'queued',
          attempts: 1,
          max_attempts: 50,
          singleton_key: 'certificates.send:2',
        },
        { kind: 'mail.send', payload: '{"to": "a@example.org"}', state: 'queued', attempts: 3, max_attempts: 10, singleton_key: null },
      ]);
      // pg-boss's rows are untouched.
      expect(Number((await sql<{ n: number }>`select count(*)::int as n from pgboss.job`.execute(handle.db)).rows[0]!.n)).toBe(5);
      // The imported jobs run.
      const q = createJobQueue(handle, { logger, concurrency: 2, leaseMs: 1000, pollMs: 50 });
      const got: unknown[] = [];
      q.define('certificates.deliver', { handler: async (p) => void got.push(p) });
      await q.start();
      await waitFor(() => got.length === 1, 10_000, 'the imported job to run');
      expect(got).toEqual([{ recipientId: 7 }]);
      await q.stop(1000);
    } finally {
      await handle.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
