/**
 * SQLite: adds new volunteers to the search table (recipients_fts) in the background.
 *
 * A per-row insert trigger made imports ~10x slower, so rows are stored with search_indexed = 0
 * and indexed here in batches: one short transaction takes the next unindexed rows, copies them
 * into recipients_fts with one INSERT ... SELECT and marks them indexed. Batches are sized to take
 * about BATCH_MS and separated by a yield, so the event loop is never held for long. Search stays
 * complete meanwhile (recipients-repo.ts scans the campaign's unindexed rows).
 *
 * One indexer per database handle (one server per SQLite file: platform/db/instance-lock.ts).
 * Woken when rows are inserted, held while an import runs (it would only slow the import down),
 * and on a timer for rows a CLI import wrote beside the server.
 */
import type { DatabaseHandle } from '../../platform/db/index.js';
import { sqliteFast, type FastStatement } from '../../platform/db/sqlite-fast.js';

/** Time one batch may take (the rest of ~50 ms stays free for requests). */
const BATCH_MS = 20;
const MIN_BATCH = 100;
const MAX_BATCH = 2000;

export interface SearchIndexer {
  /** Index what is waiting, soon (after the current transaction, if any, commits); only once started. */
  wake(): void;
  /** No batch starts until the returned release is called (which wakes the indexer). */
  hold(): () => void;
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
  let stmts: { insert: FastStatement<[number], never>; mark: FastStatement<[number], never> } | undefined;
  let size = 1000;
  let holds = 0;
  // Until start(), wake() does nothing: a CLI import leaves its rows to the server's indexer.
  let stopped = true;
  let again = false;
  let running: Promise<unknown> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let onError: (err: unknown) => void = () => {};

  /** One batch in one transaction (through Kysely, so it waits for a transaction in progress). */
  async function batch(): Promise<number> {
    return handle.db.transaction().execute(async () => {
      if (holds > 0) return 0;
      // The same rows both times: this transaction writes first, so nothing else writes meanwhile.
      stmts ??= {
        insert: fast.statement(
          `INSERT INTO recipients_fts(rowid, email, name, number)
           SELECT id, email, name, number FROM recipients WHERE search_indexed = 0 ORDER BY campaign_id, id LIMIT ?`,
        )!,
        mark: fast.statement(
          `UPDATE recipients SET search_indexed = 1 WHERE id IN (SELECT id FROM recipients WHERE search_indexed = 0 ORDER BY campaign_id, id LIMIT ?)`,
        )!,
      };
      const t0 = performance.now();
      const n = size;
      stmts.insert.run(n);
      const done = stmts.mark.run(n);
      const ms = performance.now() - t0;
      if (done === n) size = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.round((n * BATCH_MS) / Math.max(ms, 0.5))));
      return done;
    });
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await batch();
      total += n;
      if (n === 0) return total;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  function wake(): void {
    if (stopped) return;
    if (running || holds > 0) {
      again = true;
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
      return () => {
        if (released) return;
        released = true;
        holds--;
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
      await running;
    },
  };
}
