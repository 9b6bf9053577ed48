/**
 * Chooses the queue for the dialect: the in-process runner over the `jobs` table on SQLite,
 * pg-boss on PostgreSQL (so that several instances share the work safely). Both run the same loop
 * (runner.ts) and keep the semantics documented in types.ts and README.md.
 */
import type { DatabaseHandle } from '../db/index.js';
import type { Logger } from '../logger.js';
import { createPgBossQueue } from './pgboss-queue.js';
import { createSqliteRunner } from './sqlite-runner.js';
import type { JobQueue } from './types.js';

export * from './types.js';

export interface JobQueueOptions {
  logger: Logger;
  /** Default concurrency per kind (JOB_CONCURRENCY). */
  concurrency: number;
  /** Lease of a running job, renewed while it runs; a dead process's jobs run again after it. Default 30 s. */
  leaseMs?: number;
  /** Fallback polling interval (enqueues in this process wake the loop at once). Default 250 ms. */
  pollMs?: number;
  /** PostgreSQL: pg-boss's schema (default 'pgboss'). */
  pgBossSchema?: string;
}

/** Builds the job queue for the database's dialect. */
export function createJobQueue(handle: DatabaseHandle, opts: JobQueueOptions): JobQueue {
  if (handle.dialect === 'postgres') return createPgBossQueue(handle, { ...opts, schema: opts.pgBossSchema });
  return createSqliteRunner(handle, opts);
}
