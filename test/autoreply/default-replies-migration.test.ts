/**
 * Migration 4012 (issue 15, fewer B-trees per default-reply mark) on a database that has data:
 * every follower's default-reply time is carried over, the webhook's read and its upserts (alone,
 * and in the dedupe group commit) work as before, one row per account and follower, and the prune
 * drops the times older than an hour and only those. SQLite: the table is `WITHOUT ROWID`, keyed by
 * (account, follower): one B-tree written per mark instead of the rowid table and its primary-key
 * index. PostgreSQL: unchanged (a heap and its primary key, as before).
 */
import { describe, expect, it } from 'vitest';
import { modules } from '../../src/app.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { createWechatRepo } from '../../src/modules/autoreply/wechat-repo.js';
import { testDialects } from '../helpers/db.js';
import { emptyDatabaseEach, insertOutcome, migrationsWithout, pgPrimaryKey } from '../helpers/migrations.js';

const NEW = '4012_autoreply_default_replies_one_btree';

describe.each(testDialects())('migration 4012 on %s', (dialect) => {
  const open = emptyDatabaseEach(dialect, 'vh-mig4012-');

  it(`${NEW}: carries the times over, one row per follower, prunes by age`, async () => {
    const handle = await open();
    const db = handle.db;
    await migrateToLatest(db, migrationsWithout(NEW));
    const now = Date.now();
    const hour = 3600_000;
    const old = [
      { account_id: 1, openid: 'oA', last_at: now - 2 * hour },
      { account_id: 1, openid: 'oB', last_at: now - 10_000 },
      { account_id: 2, openid: 'oA', last_at: now - 5_000 },
    ];
    await db.insertInto('ar_default_replies').values(old).execute();

    await migrateToLatest(db, modules);

    const all = async () =>
      (
        await db
          .selectFrom('ar_default_replies')
          .select(['account_id', 'openid', 'last_at'])
          .orderBy('account_id')
          .orderBy('openid')
          .execute()
      ).map((r) => ({ account_id: Number(r.account_id), openid: r.openid, last_at: Number(r.last_at) }));
    expect(await all()).toEqual(old);

    if (dialect === 'sqlite') {
      const s = handle.sqlite!;
      const def = (s.prepare(`SELECT sql FROM sqlite_master WHERE name = 'ar_default_replies'`).get() as { sql: string }).sql;
      expect(def).toMatch(/WITHOUT ROWID/i);
      const indexes = s.prepare(`SELECT name, origin FROM pragma_index_list('ar_default_replies')`).all() as { origin: string }[];
      expect(indexes.map((r) => r.origin)).toEqual(['pk']);
    } else {
      expect(await pgPrimaryKey(db, 'ar_default_replies')).toEqual(['PRIMARY KEY (account_id, openid)']);
    }

    // One row per account and follower: a plain second insert is refused, the upserts move the time.
    const dup = await insertOutcome(db.insertInto('ar_default_replies').values({ account_id: 1, openid: 'oA', last_at: now }).execute());
    expect(dup).toBe('refused');
    const repo = createWechatRepo(db, handle);
    expect(await repo.lastDefaultReply(1, 'oA')).toBe(now - 2 * hour);
    expect(await repo.lastDefaultReply(1, 'oC')).toBeUndefined();
    await repo.setDefaultReplied(1, 'oA', now);
    expect(await repo.lastDefaultReply(1, 'oA')).toBe(now);
    await db.transaction().execute((trx) => repo.setDefaultReplied(1, 'oC', now + 1, trx));
    expect(await repo.lastDefaultReply(1, 'oC')).toBe(now + 1);
    // In the dedupe group commit: the mark of the row inserted only (m:1 is a retry).
    expect(await repo.claimMessage('a2', 'm:1', null, now)).toBe(true);
    await repo.recordMessages(
      [
        { account_key: 'a2', msg_key: 'm:1', answer: null, created_at: now },
        { account_key: 'a2', msg_key: 'm:2', answer: null, created_at: now },
      ],
      [
        { accountId: 2, openid: 'oX', at: now + 2 },
        { accountId: 2, openid: 'oA', at: now + 3 },
      ],
    );
    expect(await repo.lastDefaultReply(2, 'oA')).toBe(now + 3);
    expect(await repo.lastDefaultReply(2, 'oX')).toBeUndefined();
    expect(await all()).toEqual([
      { account_id: 1, openid: 'oA', last_at: now },
      { account_id: 1, openid: 'oB', last_at: now - 10_000 },
      { account_id: 1, openid: 'oC', last_at: now + 1 },
      { account_id: 2, openid: 'oA', last_at: now + 3 },
    ]);

    await repo.prune(now + hour - 5_000);
    expect((await all()).map((r) => `${r.account_id}/${r.openid}`)).toEqual(['1/oA', '1/oC', '2/oA']);
    await repo.prune(now + 2 * hour);
    expect(await all()).toEqual([]);
  });
});
