/**
 * SQLite has one writing connection. Kysely hands it to one transaction at a time, but the fast
 * path (platform/db/sqlite-fast.ts) runs prepared statements on it synchronously, without
 * Kysely's lock: a write from one request made while another request's transaction is open (it is
 * awaiting something between its statements) would become part of that transaction, and be lost
 * with it when it rolls back, after its own caller was told it was saved.
 *
 * Each write path that uses the fast path outside a transaction is checked here: the write is
 * made while another transaction is open, that transaction rolls back, and the write must still
 * be there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteFast } from '../../src/platform/db/sqlite-fast.js';
import { createMiniprogramRepo } from '../../src/modules/miniprogram/repo.js';
import { createRecipientsRepo } from '../../src/modules/certificates/recipients-repo.js';
import { createWechatRepo } from '../../src/modules/autoreply/wechat-repo.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { v2Api } from '../certificates/helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ dialect: 'sqlite', startJobs: false });
});
afterAll(async () => {
  await t?.close();
});

/**
 * Opens a transaction on the main connection that writes a row of its own, then waits; `write`
 * runs while it is open; the transaction then rolls back. Returns after both ended.
 */
async function whileAnotherTransactionIsOpen(write: () => Promise<unknown>): Promise<void> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const open = new Promise<void>((r) => (entered = r));
  const other = t.core.db
    .transaction()
    .execute(async (trx) => {
      await trx.insertInto('attempt_counters').values({ key: 'other-request', count: 1, reset_at: 0, next_at: 0 }).execute();
      entered();
      await gate;
      throw new Error('the other request fails and rolls back');
    })
    .catch(() => 'rolled back');
  await open;
  expect(t.core.handle.sqlite?.inTransaction).toBe(true);
  const written = write();
  release();
  expect(await other).toBe('rolled back');
  await written;
  const leaked = await t.core.db.selectFrom('attempt_counters').select('key').where('key', '=', 'other-request').executeTakeFirst();
  expect(leaked).toBeUndefined();
}

describe('fast-path writes made while another request holds a transaction (SQLite)', () => {
  it('mini-program history: the insert and the update survive the other transaction rolling back', async () => {
    const repo = createMiniprogramRepo(t.core.db, sqliteFast(t.core.handle));
    await whileAnotherTransactionIsOpen(() => repo.insertHistory('o-history', '["first"]', 1));
    expect(await repo.findHistory('o-history')).toMatchObject({ items: '["first"]', version: 1 });
    await whileAnotherTransactionIsOpen(() => repo.updateHistory('o-history', '["second"]', 1, 2));
    expect(await repo.findHistory('o-history')).toMatchObject({ items: '["second"]', version: 2 });
  });

  it('volunteers inserted outside a transaction survive another transaction rolling back, with their counts', async () => {
    const created = await v2Api(t)('POST', '/campaigns', { name: 'Fast path', slug: 'fast-path' });
    expect(created.status).toBe(201);
    const c = created.json() as { id: number };
    const repo = createRecipientsRepo(t.core.handle);
    const rows = [1, 2, 3].map((i) => ({ email: `v${i}@example.org`, number: String(i), name: `V${i}` }));
    await whileAnotherTransactionIsOpen(() => repo.insertMany(Number(c.id), rows, 1));
    const saved = await t.core.db.selectFrom('recipients').select('email').where('campaign_id', '=', Number(c.id)).execute();
    expect(saved.map((r) => r.email).sort()).toEqual(rows.map((r) => r.email));
    const counts = await t.core.db.selectFrom('recipient_counts').select(['n']).where('campaign_id', '=', Number(c.id)).execute();
    expect(counts.reduce((s, r) => s + Number(r.n), 0)).toBe(3);
  });

  it("auto-reply: a follower's default-reply time survives another transaction rolling back", async () => {
    const repo = createWechatRepo(t.core.db, t.core.handle);
    await whileAnotherTransactionIsOpen(() => repo.setDefaultReplied(1, 'o-follower', 1234));
    expect(await repo.lastDefaultReply(1, 'o-follower')).toBe(1234);
  });

  it("auto-reply: a turn's dedupe records and default-reply times, written together, survive another transaction rolling back", async () => {
    const repo = createWechatRepo(t.core.db, t.core.handle);
    const rows = ['m:901', 'm:902'].map((msg_key) => ({ account_key: 'a1', msg_key, answer: '{}', created_at: 1 }));
    let inserted = new Set<string>();
    await whileAnotherTransactionIsOpen(async () => {
      inserted = await repo.recordMessages(rows, [{ accountId: 1, openid: 'o-batched', at: 4321 }, undefined]);
    });
    expect([...inserted].sort()).toEqual(['a1\nm:901', 'a1\nm:902']);
    expect(await repo.countMessages('a1')).toBeGreaterThanOrEqual(2);
    expect(await repo.lastDefaultReply(1, 'o-batched')).toBe(4321);
    // Already recorded: not inserted again, and its default-reply time is not moved.
    const again = await repo.recordMessages([rows[0]!], [{ accountId: 1, openid: 'o-batched', at: 9999 }]);
    expect(again.size).toBe(0);
    expect(await repo.lastDefaultReply(1, 'o-batched')).toBe(4321);
  });
});
