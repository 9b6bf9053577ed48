/**
 * The tests' one polling helper: vitest's `vi.waitFor`, waiting for a truthy value (the value is
 * returned). Use `vi.waitFor` (an assertion that stops throwing) or `expect.poll` directly where
 * that reads better; never a fixed sleep as a "nothing happens" window.
 */
import { vi } from 'vitest';

/** Polls `check` until it returns a truthy value (returned), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  what = 'condition',
  interval = 25,
): Promise<NonNullable<T>> {
  return vi.waitFor(
    async () => {
      const v = await check();
      if (!v) throw new Error(`timed out waiting for ${what}`);
      return v;
    },
    { timeout: timeoutMs, interval },
  );
}
