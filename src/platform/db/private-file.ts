/**
 * Database files hold every volunteer's data and every hashed secret: they are created readable
 * by the service's own user only (0600). SQLite gives its -wal, -shm and -journal files the main
 * file's mode, so creating the main file first is enough.
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';

/** Creates `file` with mode 0600 if missing; narrows an existing file's mode to 0600. */
export function createPrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) chmodSync(file, 0o600);
}
