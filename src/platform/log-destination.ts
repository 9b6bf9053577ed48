/**
 * Where the service's JSON log lines go (stdout, or any file descriptor): every line pino writes
 * and every access line (access-log.ts), in the order they are written, collected for up to
 * HANDOVER_MS (or to the end of the turn in which HANDOVER_BYTES bytes wait) and handed to
 * pino's asynchronous file writer (SonicBoom) as one Buffer.
 *
 * Why not at the end of each event-loop turn, as before: a busy service writes lines in nearly
 * every turn, and each hand-over was one `fs.write` through node's thread pool, whose round trip
 * (a futex to wake a pool thread, its context switches, the eventfd back, SonicBoom's callback)
 * cost more than the write: ~1,500 writes a second at the webhook's rate, ~3% of the service's
 * CPU in a profile (bench/README.md, "Hot paths, a tenth pass: the webhook"). Collected for
 * 20 ms, the lines of a second go out in ~50-100 writes. A line waits at most HANDOVER_MS longer
 * than it did.
 *
 * Why not pino.destination({sync: false}) alone: it takes strings, and measured and converted a
 * turn's batch of lines to UTF-8 four or five times on its way to the file (Buffer.byteLength of
 * the batch and of what it had buffered, fs.write's conversion, Buffer.from when the write came
 * back): ~1.5 us per access line with its fs.write (bench/README.md, "Hot paths, an eighth pass",
 * point 4). Here each line is converted once, as it is written, into the Buffer that is handed
 * over, and SonicBoom, in its `buffer` mode, writes that Buffer as it is. The same SonicBoom as
 * pino.destination's otherwise: one write in flight at a time, what comes meanwhile written after it in one piece, EAGAIN on a pipe retried
 * after 100 ms, EPIPE (the reader gone) ending the log quietly, any other error of the file
 * (ENOSPC, ...) thrown as pino.destination's is.
 *
 * Nothing is lost at exit: at process.exit, after an uncaught exception (node's 'exit' event) and
 * at the end of the event loop, the lines waiting and SonicBoom's backlog are written
 * synchronously (main.ts exits through process.exit after SIGTERM's drain).
 *
 * A destination slower than the lines (a stalled disk, a pipe nobody reads): the backlog waiting
 * for the file is bounded (`maxBacklog` bytes, 16 MB by default: ~80,000 access lines, seconds of
 * the hot paths' peak). A hand-over's lines that would go beyond it are dropped whole (SonicBoom's
 * `maxLength`), and a warn line says how many were dropped (`onDropped`), in the next hand-over's
 * lines or when the backlog has been written. pino.destination's backlog grew without a bound,
 * in the service's memory.
 */
import { pino } from 'pino';

/** The longest a line waits before it is handed to the file writer. */
export const HANDOVER_MS = 20;
/** Bytes waiting that are handed over at the end of the turn, without waiting for HANDOVER_MS. */
export const HANDOVER_BYTES = 64 * 1024;
/** The Buffer the lines are written into as they come (a new one when a hand-over's lines do not fit). */
const CHUNK_BYTES = 256 * 1024;

/** pino.destination's SonicBoom (not a dependency of ours by name); `destroyed` once closed. */
type FileWriter = ReturnType<typeof pino.destination> & { readonly destroyed: boolean };

export interface LogDestinationOptions {
  /** The file descriptor written to (default: stdout). */
  fd?: number;
  /** Bytes that may wait for the file before a hand-over's lines are dropped (default 16 MB). */
  maxBacklog?: number;
}

export class LogDestination implements pino.DestinationStream {
  /** Called with the number of lines dropped since the last call, before a batch that fits (logger.ts writes a warn line). */
  onDropped: ((lines: number) => void) | undefined;

  private readonly file: FileWriter;
  private readonly ref = new WeakRef(this);
  /**
   * The lines not handed over yet, as UTF-8: `chunk[start, used)`. Each line is converted when it
   * is written, so no line's text waits in V8's heap for the hand-over (held there for up to
   * HANDOVER_MS, several hundred lines at the hot paths' rates, the lines and the pieces they
   * were built of were alive at each young-generation collection), and the lines are not measured
   * before their conversion, as `Buffer.from` of a batch did (bench/README.md, "Hot paths, an
   * eleventh pass"). The part of the chunk handed over is never written again (the file writer
   * may still hold it); the next lines go after it, and a new chunk is taken when they do not fit.
   */
  private chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private start = 0;
  private used = 0;
  private pendingLines = 0;
  /** Lines dropped and not reported yet. */
  private dropped = 0;
  private lastDropped = false;

  constructor(opts: LogDestinationOptions = {}) {
    this.file = pino.destination({
      dest: opts.fd ?? 1,
      sync: false,
      contentMode: 'buffer',
      maxLength: opts.maxBacklog ?? 16 * 1024 * 1024,
    }) as FileWriter;
    this.file.on('drop', () => (this.lastDropped = true));
    // Lines dropped and nothing written since: the count is written once the backlog is.
    this.file.on('drain', () => {
      if (this.dropped > 0 && this.used === this.start) setImmediate(this.flushTurn);
    });
    open.add(this.ref);
    this.file.on('close', () => open.delete(this.ref));
  }

  write(line: string): void {
    // Closed (pino ends the file at the end of the event loop): nothing more can be written.
    if (this.file.destroyed) return;
    // At most 3 bytes of UTF-8 per UTF-16 code unit (a pair's 4 bytes are two units').
    if (line.length * 3 > this.chunk.length - this.used) this.newChunk(line.length * 3);
    this.used += this.chunk.write(line, this.used);
    this.pendingLines++;
    // Past HANDOVER_BYTES at the end of this turn (not at once: a warn line about dropped lines
    // is written from inside the hand-over).
    if (this.used - this.start >= HANDOVER_BYTES) this.soon ??= setImmediate(this.flushTurn);
    else this.timer ??= setTimeout(this.flushTurn, HANDOVER_MS);
  }

  /** A chunk with room for the lines waiting and `more` bytes, the lines waiting copied to its start. */
  private newChunk(more: number): void {
    const waiting = this.used - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, 2 * (waiting + more)));
    this.chunk.copy(next, 0, this.start, this.used);
    this.chunk = next;
    this.start = 0;
    this.used = waiting;
  }

  /** The hand-over waiting for HANDOVER_MS, or for the end of the turn, if lines wait. */
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;

  /** Hands the lines written so far to the file writer (HANDOVER_MS after the first of them, or at once). */
  readonly flushTurn = (): void => {
    clearTimeout(this.timer);
    clearImmediate(this.soon);
    this.timer = undefined;
    this.soon = undefined;
    if (this.file.destroyed) {
      // Closed (pino ends the file at the end of the event loop): nothing more can be written.
      this.start = this.used;
      this.pendingLines = 0;
      return;
    }
    const reported = this.onDropped ? this.dropped : 0;
    const before = this.pendingLines;
    if (reported > 0) {
      this.dropped = 0;
      this.onDropped!(reported); // a line into the chunk, unless the level is above warn
    }
    const noticeLines = this.pendingLines - before;
    if (this.used === this.start) return;
    const lines = this.chunk.subarray(this.start, this.used);
    const count = this.pendingLines;
    this.start = this.used;
    this.pendingLines = 0;
    this.lastDropped = false;
    // SonicBoom in its `buffer` mode writes the Buffer as it is (its types know its `utf8` mode only).
    this.file.write(lines as unknown as string);
    // A chunk grown for a large line is not kept: the next lines take one of the usual size.
    if (this.chunk.length > CHUNK_BYTES) {
      this.chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
      this.start = this.used = 0;
    }
    // Dropped: the count reported in it again, and this hand-over's own lines.
    if (this.lastDropped) this.dropped += reported + count - noticeLines;
  };

  /** pino's `logger.flush(cb)`: the lines waiting handed over, then SonicBoom's flush. */
  flush(cb?: (err?: Error) => void): void {
    this.flushTurn();
    this.file.flush(cb);
  }

  /** Writes everything waiting, synchronously (at exit). */
  flushSync(): void {
    this.flushTurn();
    if (!this.file.destroyed) this.file.flushSync();
  }

  end(): void {
    this.flushTurn();
    this.file.end();
  }
}

/** Destinations whose file is open (weakly: a test's loggers come and go). */
const open = new Set<WeakRef<LogDestination>>();
process.on('exit', () => {
  for (const ref of open) {
    try {
      ref.deref()?.flushSync();
    } catch {
      // The file is gone (EPIPE) or not open yet: nothing more can be written.
    }
  }
});
