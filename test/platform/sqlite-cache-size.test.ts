/**
 * Issue 15: the main SQLite connection keeps SQLite's own 2 MB page cache, not better-sqlite3's
 * 16 MB. Whatever reads a large campaign through it (the search indexer catching up after a
 * restart, an import, the sending planner) filled the 16 MB, so a service on 1,000,000 volunteers
 * held ~14 MB more than on 10,000, idle and at its send peak. The hot reads have their own
 * connection (reader.ts, mapped, with its own cache).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/index.js';

let handle: DatabaseHandle | undefined;
let dir: string | undefined;
afterEach(async () => {
  await handle?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the main connection caches at most 2 MB of pages', () => {
  dir = mkdtempSync(join(tmpdir(), 'vh-cache-size-'));
  handle = openDatabase({ dialect: 'sqlite', file: join(dir, 'db.sqlite') });
  expect(handle.sqlite!.pragma('cache_size', { simple: true })).toBe(-2000);
});
