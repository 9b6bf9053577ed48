/**
 * The hot-read connection (SQLite only): a second, read-only better-sqlite3 connection to the
 * same file, shared by every module's per-request lookups (session checks, profiles, address
 * lists). Each statement on it reads a committed WAL snapshot, never another request's open
 * transaction on the main connection, and a write committed on the main connection is seen by
 * the next statement here (read-your-writes holds across the two).
 *
 * It maps the file into memory and keeps a larger page cache than the main connection, so a
 * lookup reads B-tree pages in place instead of copying each in with a pread() system call: at
 * 100,000 mini-program users this took about a sixth off the server's CPU time per `get`
 * (bench/miniprogram.bench.ts). The lookups of one event-loop turn share one read transaction
 * (reader-turn.ts: the WAL read lock's two fcntl() calls once per turn, not per statement; a
 * statement on the main connection ends it first, so the next lookup reads what it committed).
 *
 * The price: when the main connection has committed since the reader's last statement, SQLite
 * drops the reader's page cache and unmaps the file, and the next statement maps it again and
 * faults its pages in (strace: one munmap + mmap per commit followed by a read). Reads that follow
 * each request's own write (the WeChat webhook's) belong on the main connection.
 */
import SQLite from 'better-sqlite3';

/** Bytes of the file mapped (SQLite maps at most the file's size). */
export const READER_MMAP_BYTES = 256 * 1024 * 1024;
/** Page cache of the reader, in KiB (SQLite's negative cache_size). */
export const READER_CACHE_KIB = 64 * 1024;

/** Opens the read-only connection to `file`, which the main connection has created. */
export function openReader(file: string): SQLite.Database {
  const r = new SQLite(file, { readonly: true, fileMustExist: true });
  r.pragma('busy_timeout = 5000');
  r.pragma(`mmap_size = ${READER_MMAP_BYTES}`);
  r.pragma(`cache_size = -${READER_CACHE_KIB}`);
  return r;
}
