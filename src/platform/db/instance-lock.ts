/**
 * One server per SQLite database (issue 11.8). The server holds an exclusive lock for its whole
 * life: an open `BEGIN EXCLUSIVE` transaction on a small SQLite file next to the database
 * (`<db>.lock`), which is an OS-level lock (fcntl) on that file. The kernel releases it when the
 * process ends however it ends (SIGKILL included), so there is no "is the holder still alive?"
 * guess at all: no hostname, no pid, no timestamp decides anything. A second server (another
 * PID namespace with the same hostname included) finds the lock taken and is refused with a
 * clear message; `<db>.lock.json` only says who took it, for that message.
 *
 * Operator commands (import, export, send, backup, ...) do not take it: they work beside a
 * running server through SQLite's own locking. `certificates send --run` does take it while it
 * runs the mailing here, so that one process at most runs jobs on a database.
 */
import { hostname } from 'node:os';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { createPrivateFile } from './private-file.js';

export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  startedAt: string;
}

/**
 * Locks held by this process. A reference must outlive the caller's: a garbage-collected
 * connection is closed by its finalizer, and that would let the lock go.
 */
const live = new Set<InstanceLock>();

/** The lock is held by another process. */
export class InstanceLockedError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder
      ? `${holder.command} (pid ${holder.pid} on host ${holder.hostname}, started ${holder.startedAt})`
      : 'another process';
    super(`the database ${lockFile.replace(/\.lock$/, '')} is in use by ${who}`);
    this.name = 'InstanceLockedError';
  }
}

export interface InstanceLock {
  readonly file: string;
  /** Lets the lock go (also happens when the process ends). */
  release(): void;
}

/** Who holds the lock, as it wrote down (informational: the lock itself decides). */
export function readLockHolder(lockFile: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(`${lockFile}.json`, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * Takes the exclusive lock of the SQLite database `dbFile` for `command`, or throws
 * InstanceLockedError naming the holder. Never waits.
 */
export function acquireInstanceLock(dbFile: string, command: string): InstanceLock {
  const file = `${dbFile}.lock`;
  createPrivateFile(file);
  const conn = new SQLite(file);
  try {
    conn.pragma('busy_timeout = 0');
    conn.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    conn.close();
    if (/^SQLITE_BUSY|^SQLITE_LOCKED/.test(String((err as { code?: string }).code)))
      throw new InstanceLockedError(file, readLockHolder(file));
    throw err;
  }
  const holder: LockHolder = { pid: process.pid, hostname: hostname(), command, startedAt: new Date().toISOString() };
  const tmp = `${file}.json.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(holder), { mode: 0o600 });
  renameSync(tmp, `${file}.json`);
  let held = true;
  const lock: InstanceLock = {
    file,
    release() {
      if (!held) return;
      held = false;
      live.delete(lock);
      // Ours to remove: nobody else can have written it while we held the lock.
      rmSync(`${file}.json`, { force: true });
      conn.exec('ROLLBACK');
      conn.close();
    },
  };
  live.add(lock);
  return lock;
}
