/**
 * The job queue: one loop (runner.ts) over our own `jobs` table on both dialects (table-store.ts).
 * PostgreSQL claims with FOR UPDATE SKIP LOCKED and wakes other instances with LISTEN/NOTIFY, so
 * several instances share the work. Semantics in types.ts and README.md.
 */
import type { DatabaseHandle } from '../db/index.js';
import type { Logger } from '../logger.js';
import { createTableQueue } from './table-store.js';
import type { JobQueue } from './types.js';

export * from './types.js';

export interface JobQueueOptions {
  logger: Logger;
  /** Default concurrency per kind (JOB_CONCURRENCY). */
  concurrency: number;
  /** Lease of a running job, renewed every third of it while it runs; a dead process's jobs run again after it. Default 5 s (JOB_LEASE_MS). */
  leaseMs?: number;
  /** Fallback polling interval (enqueues wake the loop at once: in this process directly, on PostgreSQL through NOTIFY). Default 250 ms. */
  pollMs?: number;
}

/** Builds the job queue for the database. */
export function createJobQueue(handle: DatabaseHandle, opts: JobQueueOptions): JobQueue {
  return createTableQueue(handle, opts);
}
