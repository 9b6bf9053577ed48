/**
 * The one queue interface, over our own durable `jobs` table on SQLite and PostgreSQL
 * (table-store.ts); on PostgreSQL several instances share the work.
 *
 * Semantics both implementations keep:
 * - at-least-once: a job whose process dies is run again (its lease expires); handlers must be
 *   idempotent, or make a repeat visible (stable Message-IDs for mail).
 * - `enqueue(..., { trx })` writes the job in the caller's transaction, so a state change and the
 *   job that follows it commit together (the outbox rule).
 * - a handler that throws is retried with exponential backoff until `maxAttempts`; then
 *   `onFailed` runs once with the last error. `RetryLater` reschedules without using an attempt
 *   (quota pauses); `PermanentJobError` fails at once.
 */
import type { Executor } from '../db/index.js';

export interface JobContext {
  jobId: string;
  /** 1 on the first run. */
  attempt: number;
  /** Aborted when the queue stops and the grace period is over: stop now and throw RetryLater. */
  signal: AbortSignal;
  /**
   * Aborted as soon as the queue begins to stop. A handler that works through a long list (a
   * mailing) should finish what it has in hand and throw RetryLater, rather than use the whole
   * grace period; short handlers can ignore it.
   */
  stopping: AbortSignal;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => Promise<void>;

export interface JobDefinition<P> {
  handler: JobHandler<P>;
  /** How many of this kind run at once in this process. Default: JOB_CONCURRENCY (4). */
  concurrency?: number;
  /** Default 10. */
  maxAttempts?: number;
  /** Delay before attempt n+1 after attempt n failed. Default: 2^n seconds, capped at 15 minutes. */
  backoffMs?: (attempt: number) => number;
  /** Called once when the job has failed for good (attempts used up or PermanentJobError). */
  onFailed?: (payload: P, error: Error) => Promise<void>;
}

export interface EnqueueOptions {
  /** Run no earlier than this time (ms since epoch). */
  runAt?: number;
  /** At most one queued-or-running job per key: a second enqueue with the same key is a no-op. */
  singletonKey?: string;
  /** Write the job in this transaction. */
  trx?: Executor;
}

export interface JobQueue {
  define<P>(kind: string, def: JobDefinition<P>): void;
  enqueue<P>(kind: string, payload: P, opts?: EnqueueOptions): Promise<void>;
  /** Starts polling; jobs left running by a dead process are taken up again. */
  start(): Promise<void>;
  /** Takes no new jobs; waits up to `graceMs` for running ones, then releases the rest for a retry. */
  stop(graceMs?: number): Promise<void>;
  /** Counts by state for a kind (or all kinds), for progress and /metrics. */
  counts(kind?: string): Promise<Record<string, number>>;
  /**
   * Makes the queued jobs of `kind` whose singleton key starts with `keyPrefix` due now (e.g. the
   * batches of a campaign waiting out an SMTP outage that just ended); answers how many.
   */
  wake(kind: string, keyPrefix: string): Promise<number>;
}

/** Reschedule without spending an attempt (e.g. a mail quota is used up until `delayMs` from now). */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** Fail at once, no retry (e.g. an SMTP 5xx answer). */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}
