/**
 * SQLite during a bulk write (an import of many thousand rows): the WAL is copied into the
 * database by a worker thread on its own connection, never by the writer's commits on the event
 * loop.
 *
 * A checkpoint ends with fsync() calls; better-sqlite3 runs it on the event loop, inside whichever
 * commit crosses wal_autocheckpoint (1,000 pages), or wherever it is called. An import of 100,000
 * volunteers that checkpointed after each of its short transactions took 89 s of wall time for
 * 1.8 s of CPU on the shared machine (each fsync waits for the disk), and a loop blocked by an
 * fsync answers no request meanwhile. So while a bulk write runs, the writer's automatic
 * checkpoint is off, and about once a second the writer awaits a PASSIVE checkpoint run by the
 * worker. Awaited, not run beside the writes: a checkpoint that never catches up with a writer
 * never lets the WAL restart, and every page read searches a WAL index that grows with it (an
 * import's CPU per row grew with the campaign). The worker stops, and the automatic checkpoint
 * comes back, when the last bulk write ends.
 *
 * One per database handle; several bulk writes at once share it. Not for ':memory:' databases
 * (no WAL) nor PostgreSQL.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { DatabaseHandle } from './index.js';

export interface BulkWrites {
  /** After each committed slice: resolves at once, or after a checkpoint when none ran for CHECKPOINT_EVERY_MS. */
  committed(): Promise<void>;
  /** Ends this bulk write: the last one to end stops the worker and restores the automatic checkpoint. */
  end(): Promise<void>;
}

interface State {
  users: number;
  worker: Worker;
  /** The checkpoint running, if any. */
  running: Promise<void> | null;
  done: (() => void) | null;
  /** When the last checkpoint ended (performance.now()). */
  lastEnd: number;
  autocheckpoint: number;
}

/** Time between the end of one checkpoint and the start of the next. */
const CHECKPOINT_EVERY_MS = 1000;

const states = new WeakMap<DatabaseHandle, State>();
const noop: BulkWrites = { committed: async () => {}, end: async () => {} };

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.lib);
const db = new SQLite(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return; }
  let error = null;
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { error = String(err && err.message || err); }
  parentPort.postMessage({ done: true, error });
});`;

/** Starts (or joins) background checkpoints on this handle's SQLite file. */
export function beginBulkWrites(handle: DatabaseHandle): BulkWrites {
  const sqlite = handle.sqlite;
  if (handle.dialect !== 'sqlite' || !sqlite || !handle.reader || sqlite.memory) return noop;
  let st = states.get(handle);
  if (!st) {
    const autocheckpoint = Number(sqlite.pragma('wal_autocheckpoint', { simple: true }));
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { lib: createRequire(import.meta.url).resolve('better-sqlite3'), file: sqlite.name },
    });
    worker.unref();
    const s: State = { users: 0, worker, running: null, done: null, lastEnd: performance.now(), autocheckpoint };
    const settle = () => {
      s.lastEnd = performance.now();
      s.running = null;
      s.done?.();
    };
    worker.on('message', settle);
    // A worker that cannot open the file leaves the writer's own checkpoints on (restored below).
    worker.on('error', () => {
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${s.autocheckpoint}`);
      settle();
    });
    sqlite.pragma('wal_autocheckpoint = 0');
    states.set(handle, (st = s));
  }
  const s = st;
  s.users++;
  let ended = false;
  return {
    committed() {
      if (ended) return Promise.resolve();
      if (!s.running && performance.now() - s.lastEnd >= CHECKPOINT_EVERY_MS) {
        s.running = new Promise<void>((r) => (s.done = r));
        s.worker.postMessage('checkpoint');
      }
      return s.running ?? Promise.resolve();
    },
    async end() {
      if (ended) return;
      ended = true;
      if (--s.users > 0) return;
      states.delete(handle);
      if (sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${s.autocheckpoint}`);
      const exited = new Promise((r) => s.worker.once('exit', r));
      s.worker.ref();
      s.worker.postMessage('close');
      await exited;
    },
  };
}
