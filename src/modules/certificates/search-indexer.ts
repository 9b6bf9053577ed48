/**
 * SQLite: adds new volunteers to the search table (recipients_fts) in the background.
 *
 * A per-row insert trigger made imports ~10x slower, so rows are stored unindexed and indexed here
 * in batches: one short transaction takes the next rows above the watermark
 * (`recipients_search_progress.indexed_to`, migration 1480: every row up to it is in
 * recipients_fts, none above), copies them into recipients_fts with one INSERT ... SELECT and
 * moves the watermark to the last of them. Batches are sized to take
 * about BATCH_MS and separated by a yield, so the event loop is never held for long. Search stays
 * complete meanwhile (recipients-repo.ts scans the campaign's unindexed rows).
 *
 * One indexer per database handle (one server per SQLite file: platform/db/instance-lock.ts).
 * Woken when rows are inserted, held while an import runs (it would only slow the import down) and
 * for a few seconds after a large one, and on a timer for rows a CLI import wrote beside the server.
 */
import type { DatabaseHandle } from '../../platform/db/index.js';
import { sqliteFast, type FastStatement } from '../../platform/db/sqlite-fast.js';
import { beginBulkWrites, type BulkWrites } from '../../platform/db/bulk-writes.js';

/**
 * Time one batch may take: a request that arrives meanwhile waits for it (the list right after
 * an import of 1,000,000 was ~60 ms with 20 ms batches), so as short as an import's slice
 * (import-lines.ts SLICE_MS); smaller ones cost the trigram table more segments to merge.
 */
const BATCH_MS = 8;
const MIN_BATCH = 100;
/** Rows indexed in one catch-up from which checkpoints move to a worker thread. */
const BULK_ROWS = 5000;
const MAX_BATCH = 2000;

export interface SearchIndexer {
  /** Index what is waiting, soon (after the current transaction, if any, commits); only once started. */
  wake(): void;
  /**
   * No batch starts until the returned release is called (which wakes the indexer), and then not
   * for `quietMs` more: a large import is often followed by the next part of the same list, and
   * indexing between the parts doubled their CPU time (1,000,000 imported in 10 calls).
   */
  hold(): (quietMs?: number) => void;
  /** Indexes until nothing waits (or it is held); resolves to the rows indexed. */
  drain(): Promise<number>;
  /** Wakes every intervalMs (rows written by another process) and now. */
  start(intervalMs: number, onError: (err: unknown) => void): void;
  /** Stops waking and waits for a running batch. */
  stop(): Promise<void>;
}

const indexers = new WeakMap<DatabaseHandle, SearchIndexer>();

/** The indexer of this database; undefined on PostgreSQL (pg_trgm indexes need none). */
export function searchIndexerFor(handle: DatabaseHandle): SearchIndexer | undefined {
  if (handle.dialect !== 'sqlite' || !handle.sqlite) return undefined;
  let ix = indexers.get(handle);
  if (!ix) indexers.set(handle, (ix = createSearchIndexer(handle)));
  return ix;
}

function createSearchIndexer(handle: DatabaseHandle): SearchIndexer {
  const fast = sqliteFast(handle);
  // Prepared on first use: the migrations may not have run when the indexer is created.
  let stmts:
    | {
        mark: FastStatement<[number], { hi: number | null; lo: number }>;
        insert: FastStatement<[number, number], never>;
        move: FastStatement<[number], never>;
      }
    | undefined;
  let size = 1000;
  let holds = 0;
  // Until start(), wake() does nothing: a CLI import leaves its rows to the server's indexer.
  let stopped = true;
  let again = false;
  let running: Promise<unknown> | null = null;
  let timer: NodeJS.Timeout | undefined;
  /** No batch starts before this (performance.now()); quietTimer wakes the indexer then. */
  let quietUntil = 0;
  let quietTimer: NodeJS.Timeout | undefined;
  let onError: (err: unknown) => void = () => {};

  /** One batch in one transaction (through Kysely, so it waits for a transaction in progress). */
  async function batch(): Promise<number> {
    return handle.db.transaction().execute(async () => {
      if (holds > 0) return 0;
      // The next `size` ids above the watermark, read from the table's own b-tree; the batch's
      // writes hold the write lock, so no row below its last id can be added meanwhile.
      stmts ??= {
        mark: fast.statement(
          `SELECT (SELECT MAX(id) FROM (SELECT id FROM recipients WHERE id > p.indexed_to ORDER BY id LIMIT ?)) AS hi, p.indexed_to AS lo
           FROM recipients_search_progress p`,
        )!,
        insert: fast.statement(
          `INSERT INTO recipients_fts(rowid, email, name, number) SELECT id, email, name, number FROM recipients WHERE id > ? AND id <= ? ORDER BY id`,
        )!,
        move: fast.statement(`UPDATE recipients_search_progress SET indexed_to = ?`)!,
      };
      const t0 = performance.now();
      const n = size;
      const { hi, lo } = stmts.mark.get(n)!;
      if (hi === null) return 0;
      const done = stmts.insert.run(lo, hi);
      stmts.move.run(hi);
      const ms = performance.now() - t0;
      if (done === n) size = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.round((n * BATCH_MS) / Math.max(ms, 0.5))));
      return done;
    });
  }

  async function drain(): Promise<number> {
    let total = 0;
    let bulk: BulkWrites | undefined;
    try {
      for (;;) {
        const n = await batch();
        total += n;
        if (n === 0) return total;
        // A long catch-up (after a large import) writes the trigram table's pages by the
        // thousand: its WAL checkpoints go to a worker thread (bulk-writes.ts), not into the
        // commit of whichever batch crosses wal_autocheckpoint, on the event loop.
        if (total >= BULK_ROWS) bulk ??= beginBulkWrites(handle);
        await bulk?.committed();
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      await bulk?.end();
    }
  }

  function wake(): void {
    if (stopped) return;
    if (running || holds > 0) {
      again = true;
      return;
    }
    const wait = quietUntil - performance.now();
    if (wait > 0) {
      quietTimer ??= setTimeout(() => {
        quietTimer = undefined;
        wake();
      }, wait);
      quietTimer.unref();
      return;
    }
    again = false;
    running = new Promise<void>((r) => setImmediate(r))
      .then(drain)
      .catch((err) => onError(err))
      .finally(() => {
        running = null;
        if (again && holds === 0) wake();
      });
  }

  return {
    wake,
    hold() {
      holds++;
      let released = false;
      return (quietMs = 0) => {
        if (released) return;
        released = true;
        holds--;
        if (quietMs > 0) quietUntil = Math.max(quietUntil, performance.now() + quietMs);
        wake();
      };
    },
    drain,
    start(intervalMs, errors) {
      onError = errors;
      stopped = false;
      clearInterval(timer);
      timer = setInterval(wake, intervalMs);
      timer.unref();
      wake();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      timer = undefined;
      clearTimeout(quietTimer);
      quietTimer = undefined;
      await running;
    },
  };
}
