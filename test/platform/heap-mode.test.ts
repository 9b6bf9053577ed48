/**
 * Issue 15 (claims at 150/s with the memory targets met): the service's entry (main.ts, through
 * heap-settings.ts) runs it under `--optimize-for-size`, and heap-mode.ts switches to V8's own
 * heap growing while certificates are being delivered (`preferSpeed`), never while notices are
 * being sent (`holdSize`). Here: the mode changes V8's collections at run time (a process of its
 * own, `npm start`'s young-generation cap); only the entry sets the flag; the window closes
 * SPEED_LINGER_MS after the last certificate or at once when a send starts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const src = (path: string) => join(import.meta.dirname, '../../src', path);

/** Runs a fixture in a process of its own with `npm start`'s node flags; answers what it printed. */
function runFixture<T>(file: string, ...args: string[]): T {
  const r = spawnSync(process.execPath, ['--max-semi-space-size=8', '--import', 'tsx', fixture(file), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

it('switched at run time, the mode changes how often V8 runs full collections', { timeout: 180_000 }, () => {
  const out = runFixture<{ start: string; size: number; during: string; speed: number; held: string; sizeAgain: number }>('heap-mode.ts');
  expect([out.start, out.during, out.held]).toEqual(['size', 'speed', 'size']);
  // Measured: 68-69 full collections under the flag, 13-14 without it, 61-63 with it set again.
  expect(out.speed).toBeLessThan(out.size / 2);
  expect(out.sizeAgain).toBeGreaterThan(out.speed * 2);
});

// Only the service's entry sets the flag: a process that loads the certificates module (a test
// worker, a bench, a script) keeps V8's flags as it was started with. The entry's own setup is the
// control: the same observation sees it set the flag.
it("the entry's setup sets --optimize-for-size when it is loaded", { timeout: 180_000 }, () => {
  const out = runFixture<{ before: number; after: number }>('heap-flag-at-load.ts', src('platform/heap-settings.ts'));
  expect(out.after).toBeGreaterThan(out.before * 2);
});

it('loading the certificates module leaves V8 flags as they were', { timeout: 180_000 }, () => {
  const out = runFixture<{ before: number; after: number }>('heap-flag-at-load.ts', src('modules/certificates/index.ts'));
  expect(out.after).toBeLessThan(out.before * 2);
});

// In this process (the test worker, shared with other test files) as the entry would: the answer
// of manageHeap puts V8's defaults back after each test.
let unmanage: (() => void) | undefined;
beforeEach(() => {
  vi.useFakeTimers();
  vi.resetModules();
});
afterEach(() => {
  unmanage?.();
  unmanage = undefined;
  vi.useRealTimers();
});
async function managedHeapMode() {
  const hm = await import('../../src/platform/heap-mode.js');
  unmanage = hm.manageHeap();
  return hm;
}

it('speed mode lasts SPEED_LINGER_MS after the last certificate', async () => {
  const hs = await managedHeapMode();
  expect(hs.heapMode()).toBe('size');
  hs.preferSpeed();
  expect(hs.heapMode()).toBe('speed');
  vi.advanceTimersByTime(hs.SPEED_LINGER_MS - 1_000);
  hs.preferSpeed();
  vi.advanceTimersByTime(hs.SPEED_LINGER_MS - 1);
  expect(hs.heapMode()).toBe('speed');
  vi.advanceTimersByTime(2);
  expect(hs.heapMode()).toBe('size');
});

it('a send holds size mode: it ends speed mode at once and keeps it off until released', async () => {
  const hs = await managedHeapMode();
  hs.preferSpeed();
  const release = hs.holdSize();
  expect(hs.heapMode()).toBe('size');
  hs.preferSpeed();
  expect(hs.heapMode()).toBe('size');
  release();
  release(); // twice is once
  hs.preferSpeed();
  expect(hs.heapMode()).toBe('speed');
  vi.advanceTimersByTime(hs.SPEED_LINGER_MS + 1);
  expect(hs.heapMode()).toBe('size');
});

it("without the entry's setup (or after its answer) the switches change nothing", async () => {
  const hs = await import('../../src/platform/heap-mode.js');
  hs.preferSpeed();
  expect(hs.heapMode()).toBe('size');
  const undo = hs.manageHeap();
  hs.preferSpeed();
  expect(hs.heapMode()).toBe('speed');
  undo();
  expect(hs.heapMode()).toBe('size');
  hs.preferSpeed();
  expect(hs.heapMode()).toBe('size');
});
