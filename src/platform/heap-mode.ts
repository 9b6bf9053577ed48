/**
 * V8's heap mode while the service runs (issue 15): `--optimize-for-size` (set at start by the
 * entry, heap-settings.ts) except while certificates are delivered or volunteers imported. This
 * module has no effect when it is loaded: the flag is written only after the entry's
 * `manageHeap()`, so a process that loads the certificates module without the entry (a test
 * worker, a bench, a script) keeps the V8 flags it was started with, and the switches below do
 * nothing there.
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
 * The listening service also asks for speed while its event loop is busy (heap-busy.ts); a send's
 * hold wins there too, also in the moment between two of its batches (`sizeHeldSince`).
 *
 * An operator who wants V8's defaults back passes `--no-optimize-for-size` (on the command line
 * or in NODE_OPTIONS), and one who wants the flag always passes `--optimize-for-size`: then
 * nothing is changed here, at start-up or later.
 */
import { setFlagsFromString } from 'node:v8';

/** How long after the last certificate the heap stays in speed mode (a claim takes ~10 ms). */
export const SPEED_LINGER_MS = 5_000;

/** Whether the service chooses the flag: the entry asked (`manageHeap`) and the operator did not. */
let managed = false;
let speed = false;
let speedUntil = 0;
let sizeHolds = 0;
/** When the last size hold was released (Date.now()). */
let sizeReleasedAt = 0;
let timer: NodeJS.Timeout | undefined;

/**
 * The service's heap settings, called once by its entry before anything else loads
 * (heap-settings.ts): `--optimize-for-size` from now on, and the switches below in effect, unless
 * the operator chose the flag; allocation-site pretenuring off (`pretenuringOff`), unless the
 * operator chose that. The answer puts V8's defaults back and the switches out of effect
 * (for tests, which share a process with other tests).
 */
export function manageHeap(): () => void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  const undoPretenuring = pretenuringOff(given);
  if (managed || operatorGave(given, 'optimize-for-size')) return undoPretenuring;
  managed = true;
  setFlagsFromString('--optimize-for-size');
  return () => {
    undoPretenuring();
    if (!managed) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    managed = speed = false;
    setFlagsFromString('--no-optimize-for-size');
  };
}

/** Whether `--<flag>` or `--no-<flag>` is among the operator's node options (V8 takes `_` for `-`). */
function operatorGave(given: readonly string[], flag: string): boolean {
  const pattern = new RegExp(`^--(no-)?${flag.replaceAll('-', '[-_]')}$`);
  return given.some((a) => pattern.test(a));
}

let pretenuringIsOff = false;

/**
 * V8's allocation-site pretenuring off, unless the operator chose (`--allocation-site-pretenuring`
 * or `--no-...` on the command line or in NODE_OPTIONS). When many objects made at one site
 * outlive their young-generation collections, V8 allocates that site's objects in the old
 * generation from then on, for the life of the process. A bulk import through the API (100,000
 * volunteers) did that to the HTTP path's own sites (the parser's, the headers', the response's):
 * afterwards every request's objects went to the old generation and were freed only by full
 * collections (13 in 4 s of getUserInfo load against 2; ~70 us of CPU an answer against ~50 in a
 * process that had not imported; bench/README.md, "Hot paths, a twelfth pass"). Without it a
 * long-lived object is copied once more, by a scavenge, before it is promoted.
 */
function pretenuringOff(given: readonly string[]): () => void {
  if (pretenuringIsOff || operatorGave(given, 'allocation-site-pretenuring')) return () => {};
  pretenuringIsOff = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
  return () => {
    if (!pretenuringIsOff) return;
    pretenuringIsOff = false;
    setFlagsFromString('--allocation-site-pretenuring');
  };
}

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

/**
 * 'speed' while preferSpeed's window is open, 'size' otherwise (and where the service does not
 * manage the flag: the operator chose it, or the process was not started by the entry).
 */
export function heapMode(): 'size' | 'speed' {
  return speed ? 'speed' : 'size';
}
