/**
 * A fixed-window counter per key, in memory. Enough for one process; entries expire on their own.
 * For guessable things (admin tokens, login, codes) callers key by IP and by account.
 */
export interface RateLimiter {
  /** Counts one attempt; returns 0 when allowed, else the milliseconds until the window resets. */
  hit(key: string): number;
  /** Milliseconds until allowed without counting (0 = allowed now). */
  check(key: string): number;
  reset(key: string): void;
}

export function createRateLimiter(opts: { limit: number; windowMs: number; now?: () => number }): RateLimiter {
  const now = opts.now ?? Date.now;
  const windows = new Map<string, { count: number; start: number }>();
  let lastSweep = now();
  function sweep(t: number) {
    if (t - lastSweep < opts.windowMs) return;
    lastSweep = t;
    for (const [k, w] of windows) if (t - w.start >= opts.windowMs) windows.delete(k);
  }
  function current(key: string, t: number) {
    const w = windows.get(key);
    if (!w || t - w.start >= opts.windowMs) return undefined;
    return w;
  }
  return {
    hit(key) {
      const t = now();
      sweep(t);
      const w = current(key, t);
      if (!w) {
        windows.set(key, { count: 1, start: t });
        return 0;
      }
      if (w.count >= opts.limit) return w.start + opts.windowMs - t;
      w.count++;
      return 0;
    },
    check(key) {
      const t = now();
      const w = current(key, t);
      return w && w.count >= opts.limit ? w.start + opts.windowMs - t : 0;
    },
    reset(key) {
      windows.delete(key);
    },
  };
}
