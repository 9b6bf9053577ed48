/**
 * The job loop both queues share: claims due jobs per kind in small batches (one statement per
 * batch) up to the kind's free slots, runs handlers, records outcomes, renews leases, and stops
 * gracefully. Where jobs live is a JobStore: our `jobs` table on either dialect (table-store.ts).
 *
 * Outcomes: success -> complete (batched); RetryLater -> rescheduled, attempt given back;
 * PermanentJobError or last attempt -> failed, then `onFailed` once (only by the runner whose
 * update recorded the failure); other errors -> rescheduled after `backoffMs(attempt)`.
 */
import type { Logger } from '../logger.js';
import { PermanentJobError, RetryLater, type EnqueueOptions, type JobDefinition, type JobQueue } from './types.js';

export interface ClaimedJob {
  id: string;
  /** Decoded payload; `undefined` with `invalid` set when the stored payload cannot be read. */
  payload: unknown;
  invalid?: boolean;
  /** 1 on the first run. */
  attempt: number;
  maxAttempts: number;
}

/** Where jobs are kept; every method is one statement (or one small transaction). */
export interface JobStore {
  /** Prepares storage; called before any other method. */
  ready(): Promise<void>;
  /** Prepares a kind with its retry settings (a store that needs it). */
  prepareKind?(kind: string, def: { maxAttempts: number; backoffMs: (attempt: number) => number }): Promise<void>;
  /**
   * True when a job written in a caller's transaction wakes this runner at that commit with no
   * timer: SQLite (one connection: the claim an enqueue schedules waits for the transaction and
   * runs right after its commit), PostgreSQL while its LISTEN connection is up (the NOTIFY is
   * delivered at commit). Otherwise the runner looks again shortly after such an enqueue.
   */
  wakesAtCommit?(): boolean;
  /** Calls `wake(kind)` when another process enqueued a job (PostgreSQL: LISTEN). */
  subscribe?(wake: (kind: string) => void): Promise<void>;
  /** Makes queued jobs of `kind` whose singleton key starts with `keyPrefix` due now; answers how many. */
  wake?(kind: string, keyPrefix: string): Promise<number>;
  insert(kind: string, payload: unknown, opts: EnqueueOptions & { maxAttempts: number }): Promise<void>;
  claim(kind: string, limit: number, leaseMs: number): Promise<ClaimedJob[]>;
  complete(kind: string, ids: string[]): Promise<void>;
  /** Back to queued at `delayMs` from now; `giveBack` returns the attempt (RetryLater, release). */
  reschedule(kind: string, id: string, delayMs: number, error: string, giveBack: boolean): Promise<void>;
  /** Marks failed; true when this call made the change (so onFailed runs once). */
  fail(kind: string, id: string, error: string): Promise<boolean>;
  /** Extends the leases of these running jobs; answers the ids whose lease is still this runner's. */
  renew(ids: Array<{ kind: string; id: string }>, leaseMs: number): Promise<string[] | void>;
  /** Puts these running jobs back in the queue at once, attempts given back. */
  release(ids: Array<{ kind: string; id: string }>): Promise<number>;
  /** Requeues jobs whose lease expired (when the store does not do it itself). */
  recoverExpired?(): Promise<number>;
  counts(kind?: string): Promise<Record<string, number>>;
  close?(): Promise<void>;
}

export interface RunnerOptions {
  logger: Logger;
  /** Default concurrency per kind when a definition gives none (JOB_CONCURRENCY). */
  concurrency: number;
  /** Lease length; renewed every third of it while a job runs. Default 5 s (a dead instance's job is taken up within about that). */
  leaseMs?: number;
  /** Fallback polling interval. Default 250 ms. */
  pollMs?: number;
}

interface KindState {
  def: JobDefinition<unknown>;
  concurrency: number;
  running: number;
  /**
   * Reasons to look for due jobs of this kind (an enqueue, a NOTIFY, a poll, a wake, a job put back
   * due now), counted. A claim that comes back with slots unfilled records the count it started
   * at in `lookedAt`; the kind is claimed again while `wakes !== lookedAt`. A count, not a flag: a
   * wake-up that arrives while a claim is on its way back is not cleared by that claim's (older)
   * empty answer (a flag lost it, and the job waited for the next poll).
   */
  wakes: number;
  lookedAt: number;
  prepared?: Promise<void>;
}

export const DEFAULT_MAX_ATTEMPTS = 10;

/** Default backoff: 2^attempt seconds, capped at 15 minutes. */
export function defaultBackoffMs(attempt: number): number {
  return Math.min(2 ** attempt * 1000, 15 * 60_000);
}

function wakeKind(k: KindState | undefined): void {
  if (k) k.wakes++;
}

function errorText(err: unknown): string {
  const e = err as Error;
  return (e?.message ?? String(err)).slice(0, 2000);
}

/** Builds a JobQueue over a store. */
export function createRunner(store: JobStore, opts: RunnerOptions): JobQueue {
  const log = opts.logger;
  const leaseMs = opts.leaseMs ?? 5_000;
  const pollMs = opts.pollMs ?? 250;
  const kinds = new Map<string, KindState>();
  const inflight = new Map<string, { kind: string; promise: Promise<void>; abort: AbortController }>();
  let ready: Promise<void> | undefined;
  let started = false;
  let stopping = false;
  /** Tells running handlers that a stop has begun (JobContext.stopping). */
  let stopRequested = new AbortController();
  let tickScheduled = false;
  let ticking = false;
  let tickAgain = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let lastRecovery = 0;
  let pendingDone = new Map<string, string[]>();
  let flushScheduled = false;

  // A failed start or preparation is not cached: the next call tries again (a cached rejection
  // would stop that kind for the life of the process).
  const ensureReady = () =>
    (ready ??= store.ready().catch((err) => {
      ready = undefined;
      throw err;
    }));
  /** Preparations (a store's prepareKind) run one at a time. */
  let prepareChain: Promise<unknown> = Promise.resolve();

  function prepare(kind: string): Promise<void> {
    const k = kinds.get(kind);
    const def = { maxAttempts: k?.def.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, backoffMs: k?.def.backoffMs ?? defaultBackoffMs };
    if (!store.prepareKind) return ensureReady();
    const once = () => {
      const p = prepareChain.then(ensureReady, ensureReady).then(() => store.prepareKind!(kind, def));
      prepareChain = p.catch(() => undefined);
      return p;
    };
    if (!k) return once();
    return (k.prepared ??= once().catch((err) => {
      k.prepared = undefined;
      throw err;
    }));
  }

  function scheduleTick(): void {
    if (!started || stopping || tickScheduled) return;
    tickScheduled = true;
    setImmediate(() => {
      tickScheduled = false;
      void tick();
    });
  }

  async function tick(): Promise<void> {
    if (ticking) {
      tickAgain = true;
      return;
    }
    ticking = true;
    try {
      do {
        tickAgain = false;
        if (stopping) return;
        const now = Date.now();
        if (store.recoverExpired && now - lastRecovery >= Math.min(leaseMs / 3, 5000)) {
          lastRecovery = now;
          const n = await store.recoverExpired();
          if (n > 0) {
            log.warn({ jobs: n }, 'jobs: took up jobs whose lease expired');
            for (const k of kinds.values()) wakeKind(k);
          }
        }
        for (const [kind, k] of kinds) {
          const free = k.concurrency - k.running;
          if (free <= 0 || k.wakes === k.lookedAt || stopping) continue;
          const seen = k.wakes;
          await prepare(kind);
          const rows = await store.claim(kind, free, leaseMs);
          // Every free slot filled: there may be more (wakes !== lookedAt still holds).
          if (rows.length < free) k.lookedAt = seen;
          for (const row of rows) run(kind, k, row);
        }
      } while (tickAgain && !stopping);
    } catch (err) {
      if (!stopping) log.error({ err }, 'jobs: claim failed');
    } finally {
      ticking = false;
    }
  }

  function run(kind: string, k: KindState, job: ClaimedJob): void {
    const abort = new AbortController();
    k.running++;
    const promise = (async () => {
      try {
        if (job.invalid) throw new PermanentJobError('the stored payload cannot be read');
        await k.def.handler(job.payload, { jobId: job.id, attempt: job.attempt, signal: abort.signal, stopping: stopRequested.signal });
        markDone(kind, job.id);
      } catch (err) {
        await settleFailure(kind, k, job, err);
      } finally {
        k.running--;
        inflight.delete(job.id);
        // A freed slot: claimed into only if the last claim filled every slot or something woke
        // the kind since (a short claim saw no other due job; an enqueue since counts a wake).
        scheduleTick();
      }
    })();
    inflight.set(job.id, { kind, promise, abort });
  }

  function markDone(kind: string, id: string): void {
    const list = pendingDone.get(kind) ?? [];
    list.push(id);
    pendingDone.set(kind, list);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => void flushDone());
  }

  async function flushDone(): Promise<void> {
    flushScheduled = false;
    const batches = pendingDone;
    pendingDone = new Map();
    for (const [kind, ids] of batches) {
      try {
        await store.complete(kind, ids);
      } catch (err) {
        log.error({ err, kind, jobs: ids.length }, 'jobs: could not record finished jobs (they will run again)');
      }
    }
  }

  async function settleFailure(kind: string, k: KindState, job: ClaimedJob, err: unknown): Promise<void> {
    try {
      if (err instanceof RetryLater) {
        await store.reschedule(kind, job.id, Math.max(0, err.delayMs), errorText(err), true);
        if (err.delayMs <= 0) wakeKind(k);
        log.debug({ kind, id: job.id, delayMs: err.delayMs }, 'jobs: rescheduled');
        return;
      }
      if (err instanceof PermanentJobError || job.attempt >= job.maxAttempts) {
        const mine = await store.fail(kind, job.id, errorText(err));
        log.warn({ kind, id: job.id, attempt: job.attempt, err: errorText(err) }, 'jobs: failed for good');
        if (mine && k.def.onFailed) {
          try {
            await k.def.onFailed(job.payload, err instanceof Error ? err : new Error(String(err)));
          } catch (e) {
            log.error({ err: e, kind, id: job.id }, 'jobs: onFailed threw');
          }
        }
        return;
      }
      const delay = Math.max(0, (k.def.backoffMs ?? defaultBackoffMs)(job.attempt));
      await store.reschedule(kind, job.id, delay, errorText(err), false);
      if (delay <= 0) wakeKind(k);
      log.info({ kind, id: job.id, attempt: job.attempt, delayMs: delay, err: errorText(err) }, 'jobs: will retry');
    } catch (e) {
      // The lease will expire and the job run again.
      if (!stopping) log.error({ err: e, kind, id: job.id }, 'jobs: could not record the outcome');
    }
  }

  async function heartbeat(): Promise<void> {
    if (inflight.size === 0) return;
    try {
      const held = await store.renew(
        [...inflight].map(([id, f]) => ({ kind: f.kind, id })),
        leaseMs,
      );
      if (Array.isArray(held)) {
        const mine = new Set(held);
        for (const [id, f] of inflight) {
          // The lease ran out (the database was out of reach longer than the lease) and another
          // runner may hold the job now: stop the handler rather than work beside it.
          if (!mine.has(id) && !f.abort.signal.aborted) {
            log.warn({ kind: f.kind, id }, 'jobs: lost the lease of a running job; stopping it');
            f.abort.abort();
          }
        }
      }
    } catch (err) {
      log.error({ err }, 'jobs: lease renewal failed');
    }
  }

  return {
    define(kind, def) {
      kinds.set(kind, {
        def: def as JobDefinition<unknown>,
        concurrency: Math.max(1, def.concurrency ?? opts.concurrency),
        running: 0,
        wakes: 1,
        lookedAt: 0,
      });
      scheduleTick();
    },

    async enqueue(kind, payload, o: EnqueueOptions = {}) {
      await prepare(kind);
      const maxAttempts = kinds.get(kind)?.def.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      await store.insert(kind, payload ?? null, { ...o, maxAttempts });
      const k = kinds.get(kind);
      wakeKind(k);
      const now = Date.now();
      if (o.runAt === undefined || o.runAt <= now) {
        scheduleTick();
        // In a transaction the row becomes visible at commit: unless the commit itself wakes the
        // runner (see JobStore.wakesAtCommit), look again shortly after.
        if (o.trx && !store.wakesAtCommit?.())
          setTimeout(() => {
            wakeKind(k);
            scheduleTick();
          }, 15).unref();
      }
    },

    async start() {
      if (started) return;
      await ensureReady();
      started = true;
      stopping = false;
      if (stopRequested.signal.aborted) stopRequested = new AbortController();
      lastRecovery = 0;
      pollTimer = setInterval(() => {
        for (const k of kinds.values()) wakeKind(k);
        scheduleTick();
      }, pollMs);
      pollTimer.unref();
      heartbeatTimer = setInterval(() => void heartbeat(), Math.max(100, Math.floor(leaseMs / 3)));
      heartbeatTimer.unref();
      if (store.subscribe) {
        await store.subscribe((kind) => {
          if (!kind) for (const k of kinds.values()) wakeKind(k);
          wakeKind(kinds.get(kind));
          scheduleTick();
        });
      }
      scheduleTick();
    },

    async stop(graceMs = 10_000) {
      if (!started || stopping) {
        if (!started && ready)
          await ready.then(
            () => store.close?.(),
            () => undefined,
          );
        ready = undefined;
        return;
      }
      stopping = true;
      stopRequested.abort();
      clearInterval(pollTimer);
      // Wait for a claim in progress so that what it claimed is counted as in flight.
      while (ticking) await new Promise((r) => setTimeout(r, 5));
      const running = [...inflight.values()];
      if (running.length) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled(running.map((r) => r.promise)), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
      }
      clearInterval(heartbeatTimer);
      await flushDone();
      for (const [, r] of inflight) r.abort.abort();
      // Aborted handlers usually settle at once (RetryLater puts their job back themselves);
      // give them a moment so they do not write to a database that is about to close.
      if (inflight.size) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...inflight.values()].map((r) => r.promise)),
          new Promise((r) => (timer = setTimeout(r, Math.min(1000, graceMs)))),
        ]);
        clearTimeout(timer);
      }
      const left = [...inflight];
      if (left.length) {
        try {
          const n = await store.release(left.map(([id, f]) => ({ kind: f.kind, id })));
          if (n > 0) log.warn({ jobs: n }, 'jobs: released unfinished jobs on stop');
        } catch (err) {
          log.error({ err }, 'jobs: could not release unfinished jobs (their leases will expire)');
        }
      }
      started = false;
      try {
        await store.close?.();
      } catch (err) {
        log.error({ err }, 'jobs: closing the store failed');
      }
      ready = undefined;
      for (const k of kinds.values()) k.prepared = undefined;
    },

    async counts(kind) {
      await ensureReady();
      return store.counts(kind);
    },

    async wake(kind, keyPrefix) {
      await ensureReady();
      const n = store.wake ? await store.wake(kind, keyPrefix) : 0;
      wakeKind(kinds.get(kind));
      scheduleTick();
      return n;
    },
  };
}
