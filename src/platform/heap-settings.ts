/**
 * V8 heap settings of the service, applied before anything else is loaded (main.ts imports this
 * module first). `--optimize-for-size` makes V8 grow the heap by a smaller factor after each
 * full collection and keep the young generation small, so the heap stays near what is live
 * instead of growing to two or three times that between collections (issue 15: idle under
 * 100 MB resident, the peak while sending flat). Measured with bench/memory.bench.ts (see
 * bench/README.md for the figures and the CPU it costs).
 *
 * The young generation's cap is not set here: `--optimize-for-size` set at run time does not cap
 * it, and `--max-semi-space-size`, which does, is read by V8 only when the process starts. So it
 * is on the command line operators run: `npm start` is `node --max-semi-space-size=8 dist/main.js
 * serve`, as is the README's systemd unit (test/platform/start-command.test.ts keeps them so).
 * Without it the new space grows to 32 MB while a campaign is sent, and 100,000 notices peaked at
 * 152-157 MB (issue 15's target: under 150); with it at 8, 135 MB (bench/README.md, "Latest
 * memory (mem5)"). An operator undoes it by starting `node dist/main.js serve` without the flag,
 * or changes it by starting `node --max-semi-space-size=<MB> dist/main.js serve` (NODE_OPTIONS
 * cannot: the command line's flag wins over it).
 *
 * While certificates are being delivered or imported volunteers stored (`preferSpeed`, called by
 * the deliver job and by each import's store), V8's own
 * heap growing is used instead, and `--optimize-for-size` comes back 5 s after the last one, or
 * at once while notices are being sent (`holdSize`, held by each send batch). Why (bench/README.md,
 * "Claims, a seventh pass", `--trace-gc` of 400 claims with 8 clients): under the flag every full
 * collection is a memory-reducing one (V8's `ShouldOptimizeForMemoryUsage()` reads the flag at
 * each collection: the mark-compacts print `(reduce)`), which shrinks the young generation back
 * to 2 MB; the 8 claims in flight then outlive two scavenges and are promoted (~100 KB a claim),
 * and with the flag's growing factor of 1.3 the old generation reaches its limit again after
 * ~36 claims: 11 mark-compacts and 127 scavenges in 400 claims, against 0 and 33 without the
 * flag. V8 reads the flag when it collects and when it sets the next limit, so a change made
 * here with `setFlagsFromString` takes effect at the next collection (node 20 leaves V8's flags
 * writable after start-up, which the flag's setting at start-up already relies on). The cost is
 * the heap a burst of claims grows to (bench/README.md), given back by the next collection after
 * the flag is set again; idle and sending are as before.
 *
 * An operator who wants V8's defaults back passes `--no-optimize-for-size` (on the command line
 * or in NODE_OPTIONS), and one who wants the flag always passes `--optimize-for-size`: then
 * nothing is changed here, at start-up or later.
 */
import { setFlagsFromString } from 'node:v8';

/** How long after the last certificate the heap stays in speed mode (a claim takes ~10 ms). */
export const SPEED_LINGER_MS = 5_000;

const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
/** Whether the service chooses the flag (the operator did not). */
const managed = !given.some((a) => /^--(no-)?optimize[-_]for[-_]size$/.test(a));
if (managed) setFlagsFromString('--optimize-for-size');

let speed = false;
let speedUntil = 0;
let sizeHolds = 0;
/** When the last size hold was released (Date.now()). */
let sizeReleasedAt = 0;
let timer: NodeJS.Timeout | undefined;

function toSize(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (!speed) return;
  speed = false;
  setFlagsFromString('--optimize-for-size');
}

function lingerCheck(): void {
  const left = speedUntil - Date.now();
  if (left > 0) {
    timer = setTimeout(lingerCheck, left);
    timer.unref();
  } else toSize();
}

/**
 * A CPU-heavy, allocation-heavy piece of work (a certificate's render and mail) is running: V8's
 * default heap growing until SPEED_LINGER_MS after the last call, unless notices are being sent.
 * Costs a timestamp per call; V8's flag is written only when the mode changes.
 */
export function preferSpeed(): void {
  if (!managed) return;
  speedUntil = Date.now() + SPEED_LINGER_MS;
  if (speed || sizeHolds > 0) return;
  speed = true;
  setFlagsFromString('--no-optimize-for-size');
  timer = setTimeout(lingerCheck, SPEED_LINGER_MS);
  timer.unref();
}

/** Notices are being sent (issue 15's send peak): `--optimize-for-size` until the answer is called. */
export function holdSize(): () => void {
  sizeHolds++;
  toSize();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    sizeHolds--;
    sizeReleasedAt = Date.now();
  };
}

/** Whether a send held size mode at any moment since `since` (a Date.now() value), or holds it now. */
export function sizeHeldSince(since: number): boolean {
  return sizeHolds > 0 || sizeReleasedAt >= since;
}

/** 'speed' while preferSpeed's window is open, 'size' otherwise (and when the operator chose the flag). */
export function heapMode(): 'size' | 'speed' {
  return speed ? 'speed' : 'size';
}
