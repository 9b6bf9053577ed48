/**
 * The reader's lookups of one event-loop turn share one read transaction (issue 15).
 *
 * Each SQLite read transaction in WAL mode takes a read lock in the `-shm` file and drops it at
 * its end: two fcntl() system calls. On its own a statement on the reader costs ~3 us, half of it
 * those two calls; inside the service, where every system call also costs the request's other
 * work its warm caches, they were the largest single cost of getUserInfo's answer after the
 * socket's own read and write (bench/README.md, "Hot paths, a twelfth pass"). Under load one turn
 * of the event loop answers many requests (about 30 at once under the hot-path bench), so their
 * lookups share one read lock: the first lookup of a turn begins the transaction, the turn's end
 * (`setImmediate`) commits it.
 *
 * What a lookup may see is unchanged where it matters:
 * - **This process's writes:** every statement on the main connection ends the reader's
 *   transaction first (sqlite-fast.ts runs `release` before each, Kysely's included), so the next
 *   lookup reads everything the main connection has committed (read-your-writes, as before), and
 *   the main connection's commits and checkpoints never wait on the reader's snapshot (the WAL
 *   still restarts under a steady mix of reads and writes).
 * - **Another process's commits** (an operator command on the same file) are seen from the next
 *   turn: a lookup that ran in the same turn as the commit is as if it had come first.
 * A turn that does slow work holds its snapshot for as long, which keeps a checkpoint run by
 * another connection meanwhile from passing it; the next turn lets it on.
 */
import type SQLite from 'better-sqlite3';

export interface ReaderTurn {
  /** Before a statement on the reader: begins the turn's read transaction if none is open. */
  readonly enter: () => void;
  /** Before a statement on the main connection: ends the reader's read transaction, if open. */
  readonly release: () => void;
}

/** The turn-long read transaction of `reader` (the read-only connection, reader.ts). */
export function readerTurn(reader: SQLite.Database): ReaderTurn {
  const begin = reader.prepare('BEGIN');
  const commit = reader.prepare('COMMIT');
  let open = false;
  let scheduled = false;
  const release = () => {
    if (!open) return;
    open = false;
    // A read transaction's COMMIT only drops the read lock. A closed connection (the handle closed
    // during the turn) is in no transaction: nothing to end.
    if (reader.inTransaction) commit.run();
  };
  const endOfTurn = () => {
    scheduled = false;
    release();
  };
  const enter = () => {
    if (open) return;
    begin.run();
    open = true;
    if (!scheduled) {
      scheduled = true;
      setImmediate(endOfTurn);
    }
  };
  return { enter, release };
}
