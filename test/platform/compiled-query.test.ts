/**
 * platform/db/compiled-query.ts: a Kysely query built and compiled once, run with new values per
 * call, on the database or inside a caller's transaction, on both dialects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/platform/db/index.js';
import { compileOnce, slot } from '../../src/platform/db/compiled-query.js';
import { createTestDatabase, testDialects } from '../helpers/db.js';

interface Tables {
  things: { id: number; kind: string; n: number; note: string | null };
}

describe.each(testDialects())('compileOnce (%s)', (dialect) => {
  let dir: string;
  let handle: DatabaseHandle;
  let drop: () => Promise<void>;
  let db: Kysely<Tables>;

  beforeAll(async () => {
    dir = mkdtempSync(join(os.tmpdir(), 'vh-compiled-'));
    const t = await createTestDatabase(dialect, dir);
    drop = t.drop;
    handle = openDatabase(t.config);
    db = handle.db as unknown as Kysely<Tables>;
    await sql`CREATE TABLE things (id integer PRIMARY KEY, kind text NOT NULL, n integer NOT NULL, note text)`.execute(db);
    await db
      .insertInto('things')
      .values([
        { id: 1, kind: 'a', n: 1, note: null },
        { id: 2, kind: 'b', n: 2, note: 'x' },
        { id: 3, kind: 'a', n: 3, note: null },
      ])
      .execute();
  });
  afterAll(async () => {
    await handle?.close();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds each call’s values by slot name; values written into the query stay as built', async () => {
    // 'a' is a constant of the query, not a slot: every call keeps it.
    const byMin = compileOnce(
      db.selectFrom('things').select(['id', 'n']).where('kind', '=', 'a').where('n', '>=', slot<number>('min')).orderBy('id'),
    );
    expect(await byMin.all(db, { min: 0 })).toEqual([
      { id: 1, n: 1 },
      { id: 3, n: 3 },
    ]);
    expect(await byMin.all(db, { min: 2 })).toEqual([{ id: 3, n: 3 }]);
    expect(await byMin.first(db, { min: 9 })).toBeUndefined();
  });

  it('one slot used in several places gets the same value in each', async () => {
    const q = compileOnce(
      db
        .updateTable('things')
        .set({ n: slot<number>('n'), note: sql<string>`${slot<string>('note')} || '/' || ${slot<string>('kind')}` })
        .where('kind', '=', slot<string>('kind'))
        .where('id', '=', slot<number>('id'))
        .returning(['id', 'n', 'note']),
    );
    expect(await q.first(db, { id: 2, kind: 'b', n: 20, note: 'y' })).toEqual({ id: 2, n: 20, note: 'y/b' });
    expect(await q.first(db, { id: 2, kind: 'a', n: 21, note: 'z' })).toBeUndefined();
  });

  it('runs inside a caller’s transaction (its writes roll back with it) and reports changed rows', async () => {
    const setN = compileOnce(
      db
        .updateTable('things')
        .set({ n: slot<number>('n') })
        .where('id', '=', slot<number>('id')),
    );
    const readN = compileOnce(db.selectFrom('things').select('n').where('id', '=', slot<number>('id')));
    await expect(
      db.transaction().execute(async (trx) => {
        expect(await setN.run(trx, { id: 1, n: 100 })).toBe(1);
        expect(await readN.first(trx, { id: 1 })).toEqual({ n: 100 });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await readN.first(db, { id: 1 })).toEqual({ n: 1 });
    expect(await setN.run(db, { id: 99, n: 5 })).toBe(0);
  });

  it('refuses a call that leaves a slot without a value', async () => {
    const q = compileOnce(db.selectFrom('things').select('id').where('id', '=', slot<number>('id')));
    await expect(q.first(db, {} as { id: number })).rejects.toThrow(/slot "id"/);
  });
});
