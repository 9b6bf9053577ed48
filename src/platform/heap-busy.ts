/**
 * Speed mode while the service is busy (issue 15's hot paths; heap-mode.ts). Under
 * `--optimize-for-size` every full collection is a memory-reducing one that shrinks the young
 * generation back to 2 MB, so under a stream of requests the objects of the answers in flight
 * outlive scavenges, are promoted, and bring the next full collection closer: measured on the
 * hot paths, 39-64 us of server CPU per getUserInfo answer under the flag against 39-43 us with
 * V8's own heap growing, and 66-109 against 51-55 for the webhook (bench/README.md, "Hot paths, a
 * tenth pass: the heap while busy"). The memory that buys is given back when the service is idle
 * again: SPEED_LINGER_MS after the last busy second the flag is set again.
 *
 * Busy means the event loop was at work at least BUSY_UTILIZATION of a sampled interval
 * (`performance.eventLoopUtilization`, read once a second by an unref'd timer: nothing per
 * request). A send of notices keeps size mode (its peak is a target of its own): an interval in
 * which a send batch held size mode does not count, so the moment between two batches does not
 * switch.
 */
import { performance } from 'node:perf_hooks';
import { preferSpeed, sizeHeldSince } from './heap-mode.js';

/** The share of an interval the event loop must be at work for the service to count as busy. */
export const BUSY_UTILIZATION = 0.5;

/** Starts watching the event loop; returns the function that stops it. */
export function watchBusy(opts: { intervalMs?: number } = {}): () => void {
  const intervalMs = opts.intervalMs ?? 1_000;
  let last = performance.eventLoopUtilization();
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    const since = lastAt;
    last = now;
    lastAt = Date.now();
    if (utilization >= BUSY_UTILIZATION && !sizeHeldSince(since)) preferSpeed();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
