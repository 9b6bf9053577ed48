/**
 * SQLite bulk writes (platform/db/bulk-writes.ts): while one runs, the writer's commits never
 * checkpoint (a worker thread does, on its own connection); when the last one ends, the
 * automatic checkpoint is back and the worker is gone. The rows written meanwhile are all there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/index.js';
import { beginBulkWrites } from '../../src/platform/db/bulk-writes.js';

describe('bulk writes on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vh-bulk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checkpoint on a worker while they run, and restore the automatic checkpoint after', async () => {
    const handle = openDatabase({ dialect: 'sqlite', file: join(dir, 'bulk.sqlite') });
    const sqlite = handle.sqlite!;
    try {
      sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const auto = sqlite.pragma('wal_autocheckpoint', { simple: true });
      const a = beginBulkWrites(handle);
      const b = beginBulkWrites(handle);
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      const ins = sqlite.prepare('INSERT INTO t (v) VALUES (?)');
      // More than the 1,000 pages at which a commit would checkpoint by itself.
      for (let s = 0; s < 40; s++) {
        sqlite.transaction(() => {
          for (let i = 0; i < 500; i++) ins.run('x'.repeat(200) + s + '-' + i);
        })();
        await a.committed();
        await new Promise((r) => setTimeout(r, 30));
      }
      // The worker's checkpoints let the WAL restart: it holds about a second of writes, not all 40 slices.
      const wal = sqlite.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
      expect(wal[0]!.log).toBeGreaterThan(0);
      expect(wal[0]!.log).toBeLessThan(Number(sqlite.pragma('page_count', { simple: true })));
      await a.end();
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      await b.end();
      await b.end();
      expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(auto);
      expect(sqlite.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 20_000 });
    } finally {
      await handle.close();
    }
  });

  it('are a no-op on an in-memory database', async () => {
    const handle = openDatabase({ dialect: 'sqlite', file: ':memory:' });
    try {
      const w = beginBulkWrites(handle);
      await w.committed();
      await w.end();
      expect(handle.sqlite!.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    } finally {
      await handle.close();
    }
  });
});
