/**
 * Everything the webhook side stores: connected accounts, processed messages (dedupe), default
 * reply times, WeChat bindings, registration codes, QR bind requests and shared access tokens.
 * Thin queries, each with an optional transaction.
 */
import { sql, type Selectable } from 'kysely';
import { dialectOf, type DB, type Executor } from '../../platform/db/index.js';
import { sqliteFast, type FastHandle, type FastQuery } from '../../platform/db/sqlite-fast.js';
import type { MpAccountTable, QrRequestTable } from './tables.js';
import './tables.js';

export type MpAccountRow = Selectable<MpAccountTable>;
export type QrRequestRow = Selectable<QrRequestTable>;

/** A processed message's record: the webhook's dedupe (claim-batcher.ts). */
export interface ClaimRow {
  account_key: string;
  msg_key: string;
  answer: string | null;
  created_at: number;
}
/** The default reply went to `openid` of account `accountId` at `at` (ms), with a message. */
export interface DefaultMark {
  accountId: number;
  openid: string;
  at: number;
}

/** "account\nmsg": a processed message's key, as claimMessages and recordMessages answer it. */
export const messageKey = (r: { account_key: string; msg_key: string }): string => `${r.account_key}\n${r.msg_key}`;
/** A claim statement's parameters: each row's values in column order. */
const claimValues = (rows: ClaimRow[]) => rows.flatMap((r) => [r.account_key, r.msg_key, r.answer, r.created_at]);
/** The marks of the rows that were inserted (their messages' first deliveries). */
const marksOfInserted = (rows: ClaimRow[], marks: readonly (DefaultMark | undefined)[], inserted: Set<string>): DefaultMark[] =>
  rows.flatMap((r, i) => {
    const m = marks[i];
    return m && inserted.has(messageKey(r)) ? [m] : [];
  });

/**
 * `handle` (the database handle): the webhook's per-message queries (the dedupe record, the
 * default-reply time) are compiled once (platform/db/sqlite-fast.ts) instead of being built and
 * compiled by Kysely for every message, which cost more than the queries themselves. Only
 * outside a transaction (`x` left out), and on SQLite only while no transaction is open on the
 * main connection: a write there meanwhile would become part of another request's transaction,
 * so then they wait their turn through Kysely like any query.
 */
export function createWechatRepo(db: DB, handle: FastHandle = { db }) {
  const fast = sqliteFast(handle);
  // On the main connection, not the reader: every message commits its dedupe record there, and a
  // read on the reader after another connection's commit drops the reader's page cache and, as
  // the reader maps the file (reader.ts), unmaps and maps it again (one munmap + mmap and fresh
  // page faults per message, strace). The main connection's cache survives its own commits.
  const lastDefault = fast.query<{ last_at: number }>(
    db.selectFrom('ar_default_replies').select('last_at').where('account_id', '=', 0).where('openid', '=', ''),
    2,
    { on: 'main' },
  );
  const setDefault = fast.query(
    db
      .insertInto('ar_default_replies')
      .values({ account_id: 0, openid: '', last_at: 0 })
      .onConflict((oc) => oc.columns(['account_id', 'openid']).doUpdateSet((eb) => ({ last_at: eb.ref('excluded.last_at') }))),
    3,
    { on: 'main' },
  );
  // A retry's answer (WeChat sends a message again when our answer was slow, so retries come when
  // the service is busiest): compiled once, on the main connection that committed the record.
  const storedAnswerOf = fast.query<{ answer: string | null }>(
    db.selectFrom('ar_processed_messages').select('answer').where('account_key', '=', '').where('msg_key', '=', ''),
    2,
    { on: 'main' },
  );
  /** The dedupe insert for n rows (a group commit's size), compiled once per size. */
  const claimsOf = new Map<number, FastQuery<{ account_key: string; msg_key: string }>>();
  const claimStatement = (n: number) => {
    let st = claimsOf.get(n);
    if (!st) {
      const placeholder: ClaimRow = { account_key: '', msg_key: '', answer: '', created_at: 0 };
      st = fast.query(
        db
          .insertInto('ar_processed_messages')
          .values(Array.from({ length: n }, () => placeholder))
          .onConflict((oc) => oc.columns(['account_key', 'msg_key']).doNothing())
          .returning(['account_key', 'msg_key']),
        4 * n,
        { on: 'main' },
      );
      claimsOf.set(n, st);
    }
    return st;
  };

  const sqlite = handle.sqlite;
  let recordTx: ((rows: ClaimRow[], marks: readonly (DefaultMark | undefined)[]) => Set<string>) | undefined;

  const repo = {
    // --- connected official accounts
    async insertAccount(v: Omit<MpAccountTable, 'id' | 'verified_at'>, x: Executor = db): Promise<number> {
      const r = await x
        .insertInto('mp_accounts')
        .values({ ...v, verified_at: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    },
    accountByCallbackId(callbackId: string, x: Executor = db): Promise<MpAccountRow | undefined> {
      return x.selectFrom('mp_accounts').selectAll().where('callback_id', '=', callbackId).executeTakeFirst();
    },
    accountById(id: number, x: Executor = db): Promise<MpAccountRow | undefined> {
      return x.selectFrom('mp_accounts').selectAll().where('id', '=', id).executeTakeFirst();
    },
    accountsOfUser(userId: number, x: Executor = db): Promise<MpAccountRow[]> {
      return x.selectFrom('mp_accounts').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    },
    async countAccountsOfUser(userId: number, x: Executor = db): Promise<number> {
      const r = await x
        .selectFrom('mp_accounts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async deleteAccount(id: number, x: Executor = db): Promise<void> {
      await x.deleteFrom('mp_accounts').where('id', '=', id).execute();
    },
    async markVerified(id: number, at: number, x: Executor = db): Promise<void> {
      await x.updateTable('mp_accounts').set({ verified_at: at }).where('id', '=', id).where('verified_at', 'is', null).execute();
    },

    // --- processed messages (dedupe of WeChat's retries)
    /** Inserts the record unless one exists; true when this call inserted it (the first delivery). */
    async claimMessage(accountKey: string, msgKey: string, answer: string | null, now: number, x: Executor = db): Promise<boolean> {
      const r = await x
        .insertInto('ar_processed_messages')
        .values({ account_key: accountKey, msg_key: msgKey, answer, created_at: now })
        .onConflict((oc) => oc.columns(['account_key', 'msg_key']).doNothing())
        .returning('msg_key')
        .executeTakeFirst();
      return r !== undefined;
    },
    /**
     * Several records in one statement (the webhook's group commit); answers "account\nmsg" of the
     * rows this call inserted. Keys must be unique within `rows`.
     */
    async claimMessages(rows: ClaimRow[], x: Executor = db): Promise<Set<string>> {
      if (!rows.length) return new Set();
      const r =
        x === db
          ? await claimStatement(rows.length).all(claimValues(rows))
          : await x
              .insertInto('ar_processed_messages')
              .values(rows)
              .onConflict((oc) => oc.columns(['account_key', 'msg_key']).doNothing())
              .returning(['account_key', 'msg_key'])
              .execute();
      return new Set(r.map(messageKey));
    },
    /**
     * The webhook's group commit: `rows` as claimMessages, and for each row inserted whose mark is
     * set, the follower's default-reply time, in one transaction (one commit, not one more per
     * default reply; see claim-batcher.ts). Answers "account\nmsg" of the rows inserted.
     */
    async recordMessages(rows: ClaimRow[], marks: readonly (DefaultMark | undefined)[]): Promise<Set<string>> {
      if (!marks.some(Boolean)) return repo.claimMessages(rows);
      // SQLite, main connection free: both statements synchronously in one better-sqlite3
      // transaction. Inside another request's open transaction they would join it (see
      // createWechatRepo), so then Kysely's transaction waits its turn.
      if (sqlite && !sqlite.inTransaction && setDefault.sqlite) {
        recordTx ??= sqlite.transaction((rs: ClaimRow[], ms: readonly (DefaultMark | undefined)[]) => {
          const inserted = new Set(claimStatement(rs.length).sqlite!.all(claimValues(rs)).map(messageKey));
          for (const m of marksOfInserted(rs, ms, inserted)) setDefault.sqlite!.run([m.accountId, m.openid, m.at]);
          return inserted;
        });
        return recordTx(rows, marks);
      }
      return db.transaction().execute(async (trx) => {
        const inserted = await repo.claimMessages(rows, trx);
        for (const m of marksOfInserted(rows, marks, inserted)) await repo.setDefaultReplied(m.accountId, m.openid, m.at, trx);
        return inserted;
      });
    },
    /** A recorded message's answer: how WeChat's retry of it is answered. */
    async storedAnswer(accountKey: string, msgKey: string, x: Executor = db): Promise<{ answer: string | null } | undefined> {
      if (x === db) return storedAnswerOf.first([accountKey, msgKey]);
      return x
        .selectFrom('ar_processed_messages')
        .select('answer')
        .where('account_key', '=', accountKey)
        .where('msg_key', '=', msgKey)
        .executeTakeFirst();
    },
    async setAnswer(accountKey: string, msgKey: string, answer: string, x: Executor = db): Promise<void> {
      await x
        .updateTable('ar_processed_messages')
        .set({ answer })
        .where('account_key', '=', accountKey)
        .where('msg_key', '=', msgKey)
        .execute();
    },
    async unclaimMessage(accountKey: string, msgKey: string, x: Executor = db): Promise<void> {
      await x
        .deleteFrom('ar_processed_messages')
        .where('account_key', '=', accountKey)
        .where('msg_key', '=', msgKey)
        .where('answer', 'is', null)
        .execute();
    },
    async countMessages(accountKey: string, x: Executor = db): Promise<number> {
      const r = await x
        .selectFrom('ar_processed_messages')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_key', '=', accountKey)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    // --- default reply: at most once per follower per hour
    async lastDefaultReply(accountId: number, openid: string, x: Executor = db): Promise<number | undefined> {
      // Outside a transaction (`x` left out): the fast path waits for another request's open one.
      const r =
        x === db
          ? await lastDefault.first([accountId, openid])
          : await x
              .selectFrom('ar_default_replies')
              .select('last_at')
              .where('account_id', '=', accountId)
              .where('openid', '=', openid)
              .executeTakeFirst();
      return r ? Number(r.last_at) : undefined;
    },
    async setDefaultReplied(accountId: number, openid: string, at: number, x: Executor = db): Promise<void> {
      if (x === db) {
        await setDefault.run([accountId, openid, at]);
        return;
      }
      await x
        .insertInto('ar_default_replies')
        .values({ account_id: accountId, openid, last_at: at })
        .onConflict((oc) => oc.columns(['account_id', 'openid']).doUpdateSet({ last_at: at }))
        .execute();
    },

    // --- WeChat bindings (platform appid + openid -> member)
    bindingByOpenid(appid: string, openid: string, x: Executor = db) {
      return x
        .selectFrom('ar_wechat_bindings')
        .select(['user_id'])
        .where('appid', '=', appid)
        .where('openid', '=', openid)
        .executeTakeFirst();
    },
    bindingOfUser(appid: string, userId: number, x: Executor = db) {
      return x
        .selectFrom('ar_wechat_bindings')
        .select(['openid', 'created_at'])
        .where('appid', '=', appid)
        .where('user_id', '=', userId)
        .executeTakeFirst();
    },
    /** Binds openid to the member, replacing the member's previous binding and the openid's previous owner. */
    async bind(appid: string, openid: string, userId: number, now: number, x: Executor = db): Promise<void> {
      await x
        .deleteFrom('ar_wechat_bindings')
        .where('appid', '=', appid)
        .where((eb) => eb.or([eb('openid', '=', openid), eb('user_id', '=', userId)]))
        .execute();
      await x.insertInto('ar_wechat_bindings').values({ appid, openid, user_id: userId, created_at: now }).execute();
    },

    // --- registration codes
    async insertCode(
      v: { code_hash: string; appid: string; openid: string; expires_at: number; created_at: number },
      x: Executor = db,
    ): Promise<void> {
      await x
        .insertInto('ar_registration_codes')
        .values({ ...v, used_at: null })
        .execute();
    },
    /** Drops expired codes and the openid's earlier codes (only the newest one works). */
    async dropOldCodes(appid: string, openid: string, now: number, x: Executor = db): Promise<void> {
      await x
        .deleteFrom('ar_registration_codes')
        .where((eb) => eb.or([eb('expires_at', '<', now), eb.and([eb('appid', '=', appid), eb('openid', '=', openid)])]))
        .execute();
    },
    codeByHash(codeHash: string, x: Executor = db) {
      return x.selectFrom('ar_registration_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
    },
    /** Compare-and-set: marks the code used if it is unused and live; true when this call did. */
    async useCode(id: number, now: number, x: Executor = db): Promise<boolean> {
      const r = await x
        .updateTable('ar_registration_codes')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async unuseCode(id: number, x: Executor = db): Promise<void> {
      await x.updateTable('ar_registration_codes').set({ used_at: null }).where('id', '=', id).execute();
    },

    // --- QR bind requests
    async insertQr(
      v: { pid: string; scene_hash: string; user_id: number; expires_at: number; created_at: number },
      x: Executor = db,
    ): Promise<void> {
      await x
        .insertInto('ar_qr_requests')
        .values({ ...v, state: 'pending', png: null })
        .execute();
    },
    pendingQrOfUser(userId: number, now: number, x: Executor = db) {
      return x
        .selectFrom('ar_qr_requests')
        .select(['id'])
        .where('user_id', '=', userId)
        .where('state', '=', 'pending')
        .where('created_at', '>', now - 15_000)
        .executeTakeFirst();
    },
    async finishQr(pid: string, png: Buffer | null, x: Executor = db): Promise<void> {
      await x
        .updateTable('ar_qr_requests')
        .set({ state: png ? 'ready' : 'failed', png })
        .where('pid', '=', pid)
        .execute();
    },
    qrByPid(pid: string, x: Executor = db) {
      return x.selectFrom('ar_qr_requests').select(['state', 'png', 'expires_at']).where('pid', '=', pid).executeTakeFirst();
    },
    qrByScene(sceneHash: string, x: Executor = db) {
      return x
        .selectFrom('ar_qr_requests')
        .select(['id', 'user_id', 'state', 'expires_at'])
        .where('scene_hash', '=', sceneHash)
        .executeTakeFirst();
    },
    /** Compare-and-set ready -> used; true when this call did. */
    async useQr(id: number, x: Executor = db): Promise<boolean> {
      const r = await x
        .updateTable('ar_qr_requests')
        .set({ state: 'used', png: null })
        .where('id', '=', id)
        .where('state', '=', 'ready')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    // --- access tokens shared by instances
    readToken(appid: string, x: Executor = db) {
      return x.selectFrom('ar_access_tokens').selectAll().where('appid', '=', appid).executeTakeFirst();
    },
    async ensureTokenRow(appid: string, x: Executor = db): Promise<void> {
      await x
        .insertInto('ar_access_tokens')
        .values({ appid, token_sealed: null, lease_owner: null })
        .onConflict((oc) => oc.column('appid').doNothing())
        .execute();
    },
    async leaseToken(appid: string, owner: string, until: number, now: number, x: Executor = db): Promise<boolean> {
      const r = await x
        .updateTable('ar_access_tokens')
        .set({ lease_owner: owner, lease_until: until })
        .where('appid', '=', appid)
        .where('lease_until', '<', now)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async saveToken(appid: string, owner: string, sealed: string, expiresAt: number, x: Executor = db): Promise<void> {
      await x
        .updateTable('ar_access_tokens')
        .set({ token_sealed: sealed, expires_at: expiresAt, lease_owner: null, lease_until: 0 })
        .where('appid', '=', appid)
        .where('lease_owner', '=', owner)
        .execute();
    },
    async releaseToken(appid: string, owner: string, x: Executor = db): Promise<void> {
      await x
        .updateTable('ar_access_tokens')
        .set({ lease_owner: null, lease_until: 0 })
        .where('appid', '=', appid)
        .where('lease_owner', '=', owner)
        .execute();
    },
    async clearToken(appid: string, sealedMatches: (sealed: string) => boolean, x: Executor = db): Promise<void> {
      const row = await x.selectFrom('ar_access_tokens').select('token_sealed').where('appid', '=', appid).executeTakeFirst();
      if (row?.token_sealed && sealedMatches(row.token_sealed)) {
        await x
          .updateTable('ar_access_tokens')
          .set({ token_sealed: null, expires_at: 0 })
          .where('appid', '=', appid)
          .where('token_sealed', '=', row.token_sealed)
          .execute();
      }
    },

    // --- housekeeping
    async prune(now: number, x: Executor = db): Promise<void> {
      const cutoff = now - 3600_000;
      if (dialectOf(db) === 'sqlite') {
        // No index on created_at (migration 4011: one B-tree less per row written): ids grow with
        // the insert order, so the old records are the lowest ids. The subquery walks the ids up
        // to the first record of the last hour and the delete is a range of ids; a record written
        // out of time order (another clock) is kept until a later prune, never dropped young.
        await sql`DELETE FROM ar_processed_messages
          WHERE id < COALESCE((SELECT id FROM ar_processed_messages WHERE created_at >= ${cutoff} ORDER BY id LIMIT 1), 9223372036854775807)
            AND created_at < ${cutoff}`.execute(x);
      } else {
        await x.deleteFrom('ar_processed_messages').where('created_at', '<', cutoff).execute();
      }
      await x
        .deleteFrom('ar_default_replies')
        .where('last_at', '<', now - 3600_000)
        .execute();
      await x
        .deleteFrom('ar_registration_codes')
        .where('expires_at', '<', now - 3600_000)
        .execute();
      await x.deleteFrom('ar_qr_requests').where('expires_at', '<', now).execute();
    },
  };
  return repo;
}

export type WechatRepo = ReturnType<typeof createWechatRepo>;
