/** Row type of `attempt_counters` (see attempts.ts), added to the shared `Database`. */
export interface AttemptCountersTable {
  /** What is counted, e.g. `signin:user:12|ip:10.0.0.1`. */
  key: string;
  /** Attempts in the current window (window rules) or since the count was last forgotten (backoff). */
  count: number;
  /** Window rules: when the window ends. Backoff rules: when the count is forgotten. */
  reset_at: number;
  /** Backoff rules: the earliest time of the next attempt (0 for window rules). */
  next_at: number;
}

declare module '../db/tables.js' {
  interface Database {
    attempt_counters: AttemptCountersTable;
  }
}
