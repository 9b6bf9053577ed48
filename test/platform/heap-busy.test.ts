/**
 * Issue 15 (hot paths within 2x of a bare route, memory targets met): the service runs under
 * `--optimize-for-size` (heap-settings.ts, heap-mode.ts), whose memory-reducing collections keep the young
 * generation small; under a stream of requests that costs a large share of each answer's CPU in
 * the collector (bench/README.md, "Hot paths, a tenth pass: the heap while busy"). While the
 * service's event loop is busy it answers with V8's own heap growing (`preferSpeed`), and goes
 * back to size mode SPEED_LINGER_MS after it is no longer busy; a send's size hold still wins,
 * also in the moment between two of its batches. Real timers: the watcher samples the event
 * loop's utilization, which only a real, busy loop shows.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { TestApp } from '../helpers/app.js';

type HeapMode = typeof import('../../src/platform/heap-mode.js');
type HeapBusy = typeof import('../../src/platform/heap-busy.js');
let hs: HeapMode;
let undoManage: () => void;
let busy: HeapBusy;
let stop: (() => void) | undefined;
let t: TestApp | undefined;

beforeEach(async () => {
  vi.resetModules();
  hs = await import('../../src/platform/heap-mode.js');
  // As the service's entry does (heap-settings.ts); undone after, the worker being shared.
  undoManage = hs.manageHeap();
  busy = await import('../../src/platform/heap-busy.js');
});
afterEach(async () => {
  stop?.();
  stop = undefined;
  await t?.close();
  t = undefined;
  undoManage();
});

/** Keeps the event loop busy for `ms`: synchronous work in slices, yielding between them. */
async function spin(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const slice = Date.now() + 20;
    while (Date.now() < slice) Math.sqrt(Math.random());
    await new Promise((r) => setImmediate(r));
  }
}
const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a busy event loop turns speed mode on; an idle one leaves size mode', async () => {
  // The service's one-second samples: an idle test worker is not at work for half of one, where
  // a 100 ms sample could catch the worker's own business on a loaded machine (it did, in CI).
  stop = busy.watchBusy();
  await idle(2_100);
  expect(hs.heapMode()).toBe('size');
  await spin(1_300);
  expect(hs.heapMode()).toBe('speed');
});

it('while a send holds size mode, its busy batches and the moments between them do not end it', async () => {
  stop = busy.watchBusy({ intervalMs: 100 });
  for (let batch = 0; batch < 8; batch++) {
    const release = hs.holdSize();
    await spin(60);
    release();
    await spin(5); // the next batch is being claimed
  }
  expect(hs.heapMode()).toBe('size');
  // The send over, a busy loop is the service's own again.
  await spin(350);
  expect(hs.heapMode()).toBe('speed');
});

it('a stopped watcher changes nothing', async () => {
  busy.watchBusy({ intervalMs: 100 })();
  await spin(350);
  expect(hs.heapMode()).toBe('size');
});

it('the listening service watches its event loop, and stops when it closes', async () => {
  // The app's own copy of the modules: the same as hs's (loaded after the same reset).
  const { startTestApp } = await import('../helpers/app.js');
  t = await startTestApp({ startJobs: false });
  await spin(1_300);
  expect(hs.heapMode()).toBe('size'); // not listening: tests and CLI commands build the app too
  await t.listen();
  await spin(1_300);
  expect(hs.heapMode()).toBe('speed');
  await t.close();
  t = undefined;
  await idle(hs.SPEED_LINGER_MS + 200);
  await spin(1_300);
  expect(hs.heapMode()).toBe('size');
}, 30_000);
