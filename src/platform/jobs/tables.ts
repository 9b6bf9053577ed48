/** Row types of the platform's `jobs` table (both dialects: table-store.ts). */
import type { Generated } from 'kysely';

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  /** JSON. */
  payload: string;
  /** 'queued' | 'running' | 'failed' (done jobs are deleted). */
  state: string;
  singleton_key: string | null;
  /** Attempts started (a RetryLater or a release on stop gives the attempt back). */
  attempts: number;
  max_attempts: number;
  run_at: number;
  /** Lease end while running; a lease that expires makes the job claimable again. */
  locked_until: number | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

declare module '../db/tables.js' {
  interface Database {
    jobs: JobsTable;
  }
}
