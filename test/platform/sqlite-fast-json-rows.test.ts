/**
 * The fast path's `json` statements (platform/db/sqlite-fast.ts): rows as `raw` gives them (the
 * column values in select order), built by SQLite's json_array() and parsed, value for value the
 * same for every kind of value the hot lookups read: text of any characters, integers (past 2^53
 * too), reals, NULL; no row is undefined.
 */
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteFast } from '../../src/platform/db/sqlite-fast.js';
import type { Kysely } from 'kysely';
import type { Database as Tables } from '../../src/platform/db/tables.js';

const conn = new Database(':memory:');
afterAll(() => conn.close());
conn.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, a, b TEXT, c INTEGER, d REAL)');
const insert = conn.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)');
const texts = [
  'volunteer1@example.org',
  '',
  '张三 Ünïcode ✓ 😀',
  'quote " backslash \\ slash /',
  'controls \u0000 \u0001 \u001f \u007f and \u2028 \u2029',
  'a lone surrogate \ud800 here',
  'x'.repeat(5000),
];
texts.forEach((s, i) => insert.run(i + 1, s, s, i, i / 3));
insert.run(100, null, null, null, null);
insert.run(101, 0.1 + 0.2, '1', 9007199254740993n, 1796398029249);
insert.run(102, -1796398029249, 'null', -5, -0.5);

describe('fast statements with json rows', () => {
  const fast = sqliteFast({ db: undefined as unknown as Kysely<Tables>, sqlite: conn });
  const sql = 'SELECT t.k, t.a, t.b, t.c AS "c c", t.d, u.b AS other FROM t LEFT JOIN t u ON u.k = ? WHERE t.k = ?';
  const json = fast.statement<[number, number], unknown[]>(sql, { json: true })!;
  const raw = conn.prepare(sql).raw();

  it('gives each row as raw does, value for value', () => {
    for (const k of [...texts.map((_, i) => i + 1), 100, 101, 102]) {
      for (const other of [k, 999]) {
        const got = json.get(other, k);
        expect(Array.isArray(got)).toBe(true);
        expect(got).toStrictEqual(raw.get(other, k));
      }
    }
  });

  it('gives undefined without a row, and every row of all()', () => {
    expect(json.get(1, 12345)).toBeUndefined();
    const all = fast.statement<[], unknown[]>('SELECT k, b FROM t ORDER BY k', { json: true })!;
    expect(all.all()).toStrictEqual(conn.prepare('SELECT k, b FROM t ORDER BY k').raw().all());
  });
});
