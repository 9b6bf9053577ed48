/**
 * Migration 4011 (issue 15, fewer pages per dedupe commit) on a database that has data: every
 * processed-message record is carried over with its answer and time, a second record of the same
 * account and message is still refused (the dedupe's `ON CONFLICT DO NOTHING` is what makes one
 * delivery the first), and the prune still drops records older than an hour and only those.
 * SQLite: no `AUTOINCREMENT` (no `sqlite_sequence` write per commit) and no `created_at` index
 * (the prune goes by id range); PostgreSQL: no serial id, the pair is the primary key.
 */
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/app.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { createWechatRepo } from '../../src/modules/autoreply/wechat-repo.js';
import { testDialects } from '../helpers/db.js';
import { emptyDatabaseEach, insertOutcome, migrationsWithout, pgPrimaryKey } from '../helpers/migrations.js';

const NEW = '4011_autoreply_processed_messages_fewer_pages';

describe.each(testDialects())('migration 4011 on %s', (dialect) => {
  const open = emptyDatabaseEach(dialect, 'vh-mig4011-');

  it(`${NEW}: carries the records over, refuses duplicates, prunes by age`, async () => {
    const handle = await open();
    const db = handle.db;
    await migrateToLatest(db, migrationsWithout(NEW));
    const now = Date.now();
    const hour = 3600_000;
    const old = [
      { account_key: 'a1', msg_key: 'm:1', answer: '{"t":1,"replies":["one"]}', created_at: now - 2 * hour },
      { account_key: 'a1', msg_key: 'm:2', answer: null, created_at: now - 2 * hour + 1 },
      { account_key: 'a2', msg_key: 'm:1', answer: '{"t":3,"replies":[]}', created_at: now - 10_000 },
      { account_key: 'a2', msg_key: 'e:oF:1700000000:subscribe', answer: '{"t":4,"replies":["hi"]}', created_at: now - 5_000 },
    ];
    await db.insertInto('ar_processed_messages').values(old).execute();

    await migrateToLatest(db, modules);

    const all = async () =>
      db.selectFrom('ar_processed_messages').select(['account_key', 'msg_key', 'answer', 'created_at']).orderBy('created_at').execute();
    expect((await all()).map((r) => ({ ...r, created_at: Number(r.created_at) }))).toEqual(old);

    // The shape: what each commit no longer writes.
    if (dialect === 'sqlite') {
      const s = handle.sqlite!;
      const def = (s.prepare(`SELECT sql FROM sqlite_master WHERE name = 'ar_processed_messages'`).get() as { sql: string }).sql;
      expect(def).not.toMatch(/AUTOINCREMENT/i);
      expect(s.prepare(`SELECT name FROM sqlite_sequence WHERE name = 'ar_processed_messages'`).all()).toEqual([]);
      const indexes = (s.prepare(`SELECT name FROM pragma_index_list('ar_processed_messages')`).all() as { name: string }[]).map(
        (r) => r.name,
      );
      expect(indexes).toEqual(['ar_processed_unique']);
    } else {
      const cols = await sql<{
        c: string;
      }>`SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'ar_processed_messages'`.execute(db);
      expect(cols.rows.map((r) => r.c)).not.toContain('id');
      expect(await pgPrimaryKey(db, 'ar_processed_messages')).toEqual(['PRIMARY KEY (account_key, msg_key)']);
    }

    // Duplicates refused: a plain insert fails, the webhook's claim answers "not the first".
    const dup = await insertOutcome(
      db.insertInto('ar_processed_messages').values({ account_key: 'a1', msg_key: 'm:1', answer: null, created_at: now }).execute(),
    );
    expect(dup).toBe('refused');
    const repo = createWechatRepo(db, handle);
    expect(await repo.claimMessage('a1', 'm:1', null, now)).toBe(false);
    expect(await repo.claimMessage('a1', 'm:3', '{"t":5}', now)).toBe(true);
    expect(await repo.claimMessage('a1', 'm:3', '{"t":6}', now)).toBe(false);
    const got = await repo.recordMessages(
      [
        { account_key: 'a2', msg_key: 'm:1', answer: null, created_at: now },
        { account_key: 'a2', msg_key: 'm:9', answer: '{"t":7}', created_at: now },
      ],
      [undefined, { accountId: 2, openid: 'oF', at: now }],
    );
    expect([...got]).toEqual(['a2\nm:9']);
    expect((await repo.storedAnswer('a1', 'm:3'))?.answer).toBe('{"t":5}');
    expect(await repo.countMessages('a1')).toBe(3);

    // The records of the last hour stay. A record written late with an older time (another
    // instance's clock): PostgreSQL drops it by its time; SQLite, pruning by id range, keeps it
    // until the records before it are old too, and never drops a record of the last hour.
    await db
      .insertInto('ar_processed_messages')
      .values({ account_key: 'a3', msg_key: 'm:late', answer: null, created_at: now - 3 * hour })
      .execute();
    await repo.prune(now);
    const kept = ['a2/m:1', 'a2/e:oF:1700000000:subscribe', 'a1/m:3', 'a2/m:9'];
    expect((await all()).map((r) => `${r.account_key}/${r.msg_key}`)).toEqual(dialect === 'sqlite' ? ['a3/m:late', ...kept] : kept);
    await repo.prune(now + 2 * hour);
    expect(await all()).toEqual([]);
    // Emptied, then used again: a key pruned can be recorded anew.
    expect(await repo.claimMessage('a1', 'm:1', null, now + 2 * hour)).toBe(true);
  });
});
