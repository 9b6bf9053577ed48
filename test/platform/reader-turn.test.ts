/**
 * Issue 15: the reader's lookups of one event-loop turn share one read transaction (reader.ts).
 * Each SQLite read transaction takes and drops a WAL read lock, two fcntl() system calls, and on
 * this project's machine a system call costs the request far more than its own microsecond. The
 * snapshot must never hide a write of this process's main connection (read-your-writes), must let
 * another connection's commit through from the next turn, and must not keep the WAL from
 * restarting under a steady mix of reads and writes.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/index.js';
import { sqliteFast, type FastStatement } from '../../src/platform/db/sqlite-fast.js';

let handle: DatabaseHandle;
let dir: string;
let file: string;
let lookup: FastStatement<[string], { v: number }>;
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vh-reader-turn-'));
  file = join(dir, 'db.sqlite');
  // The table exists before the reader opens (as migrations run before the app's lookups).
  const setup = new SQLite(file);
  setup.pragma('journal_mode = WAL');
  setup.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO t VALUES ('a', 1)");
  setup.close();
  handle = openDatabase({ dialect: 'sqlite', file });
  lookup = sqliteFast(handle).statement<[string], { v: number }>('SELECT v FROM t WHERE k = ?', { on: 'reader-only' })!;
});
afterEach(async () => {
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the reader: one read transaction per event-loop turn (SQLite file)', () => {
  it('keeps one read transaction across the lookups of a turn and ends it when the turn ends', async () => {
    expect(lookup.get('a')).toEqual({ v: 1 });
    expect(handle.reader!.inTransaction).toBe(true);
    expect(lookup.get('b')).toBeUndefined();
    expect(handle.reader!.inTransaction).toBe(true);
    await nextTurn();
    expect(handle.reader!.inTransaction).toBe(false);
  });

  it('shows a write of the main connection to the next lookup of the same turn, however it was made', async () => {
    const fast = sqliteFast(handle);
    const put = fast.statement<[string, number], never>('INSERT INTO t (k, v) VALUES (?, ?)', { on: 'main' })!;
    expect(lookup.get('b')).toBeUndefined();
    // Kysely on the main connection (a repository's write).
    await sql`INSERT INTO t (k, v) VALUES ('b', 2)`.execute(handle.db);
    expect(lookup.get('b')).toEqual({ v: 2 });
    // A synchronous fast-path statement on the main connection.
    put.run('c', 3);
    expect(lookup.get('c')).toEqual({ v: 3 });
    // A Kysely transaction: its statements and its COMMIT.
    await handle.db.transaction().execute(async (trx) => {
      await sql`INSERT INTO t (k, v) VALUES ('d', 4)`.execute(trx);
    });
    expect(lookup.get('d')).toEqual({ v: 4 });
    // better-sqlite3's own transaction around fast-path statements (an import's slices).
    handle.sqlite!.transaction(() => put.run('e', 5))();
    expect(lookup.get('e')).toEqual({ v: 5 });
  });

  it("shows another connection's commit (an operator command, another process) from the next turn", async () => {
    expect(lookup.get('z')).toBeUndefined();
    const other = new SQLite(file);
    other.prepare("INSERT INTO t (k, v) VALUES ('z', 26)").run();
    other.close();
    await nextTurn();
    expect(lookup.get('z')).toEqual({ v: 26 });
  });

  it('lets the WAL restart while every turn both reads and writes', async () => {
    const put = sqliteFast(handle).statement<[string, number], never>('INSERT INTO t (k, v) VALUES (?, ?)', { on: 'main' })!;
    handle.sqlite!.pragma('wal_autocheckpoint = 8');
    for (let i = 0; i < 400; i++) {
      lookup.get('a');
      put.run(`k${i}`, i);
      lookup.get(`k${i}`);
      await nextTurn();
    }
    // Each commit appends a frame or two; a WAL that never restarted would hold all 400+ of them.
    const frames = (statSync(`${file}-wal`).size - 32) / (4096 + 24);
    expect(frames).toBeLessThan(64);
  });
});
