/**
 * Thin Kysely repository of the miniprogram module: one query per method. The hot reads join the
 * session to the data it guards, so an authenticated `get` or `getHistory` is one indexed lookup;
 * they are compiled once (platform/db/sqlite-fast.ts) since building a Kysely query costs more
 * than running it.
 */
import { sql, type Compilable } from 'kysely';
import type { DB, Executor } from '../../platform/db/index.js';
import { sqliteFast, sqliteIndexHint, type QueryOptions, type SqliteFast } from '../../platform/db/sqlite-fast.js';
import './tables.js';
import type { MiniprogramProfileTable } from './tables.js';

export interface ProfileRow {
  id: number;
  openid: string;
  phone: string;
  qq: string;
  cardno: string;
  wxid: string;
  created_at: number;
  modified_at: number;
}

export type ProfileFields = Pick<MiniprogramProfileTable, 'phone' | 'qq' | 'cardno' | 'wxid'>;

export interface SessionRow {
  openid: string;
  expires_at: number;
}

export interface HistoryRow {
  items: string;
  version: number;
}

/** A session joined with its openid's profile (profile columns null when not registered). */
export type SessionWithProfile = SessionRow & { profile: ProfileRow | undefined };
/** A session joined with its openid's history (undefined when there is none yet). */
export type SessionWithHistory = SessionRow & { history: HistoryRow | undefined };

const profileColumns = ['id', 'openid', 'phone', 'qq', 'cardno', 'wxid', 'created_at', 'modified_at'] as const;

/** RawSessionProfile's values in its order (the raw statement's rows). */
type RawSessionProfileRow = [
  s_openid: string,
  s_expires_at: number,
  id: number | null,
  openid: string | null,
  phone: string | null,
  qq: string | null,
  cardno: string | null,
  wxid: string | null,
  created_at: number | null,
  modified_at: number | null,
];

type RawSessionProfile = {
  s_openid: string;
  s_expires_at: number;
  id: number | null;
  openid: string | null;
  phone: string | null;
  qq: string | null;
  cardno: string | null;
  wxid: string | null;
  created_at: number | null;
  modified_at: number | null;
};

/** The session and its openid's profile by token hash: one select for the fast path and the executor. */
function sessionWithProfileQuery(ex: Executor, tokenHash: string) {
  return ex
    .selectFrom('miniprogram_sessions as s')
    .leftJoin('miniprogram_profiles as p', 'p.openid', 's.openid')
    .select([
      's.openid as s_openid',
      's.expires_at as s_expires_at',
      'p.id',
      'p.openid',
      'p.phone',
      'p.qq',
      'p.cardno',
      'p.wxid',
      'p.created_at',
      'p.modified_at',
    ])
    .where('s.token_hash', '=', tokenHash);
}

/** The session and its openid's history by token hash. */
function sessionWithHistoryQuery(ex: Executor, tokenHash: string) {
  return ex
    .selectFrom('miniprogram_sessions as s')
    .leftJoin('miniprogram_history as h', 'h.openid', 's.openid')
    .select(['s.openid', 's.expires_at', 'h.items', 'h.version'])
    .where('s.token_hash', '=', tokenHash);
}

/**
 * Builds the repository over a Kysely handle; `fast` (the handle's sqliteFast) lets the hot
 * queries run as prepared statements on SQLite, the reads on the read-only connection
 * (platform/db/reader.ts) when there is one.
 */
export function createMiniprogramRepo(db: DB, fast: SqliteFast = sqliteFast({ db })) {
  // History is read just before it is written (addHistory): those reads stay on the main
  // connection, whose page cache holds what it just wrote; the reader's cache is dropped whenever
  // another connection commits (measured: addHistory ~40% more CPU when reading on the reader).
  const prepare = <R>(query: Compilable<R>, arity: number, opts: QueryOptions = {}) => fast.query(query, arity, opts);
  const q = {
    sessionWithProfile: prepare(
      sessionWithProfileQuery(db, ''),
      1,
      // The profile from its covering index (migration 3002): one B-tree descent, not two.
      { sqliteSql: sqliteIndexHint('miniprogram_profiles', 'p', 'miniprogram_profiles_openid_all') },
    ),
    sessionWithHistory: prepare(sessionWithHistoryQuery(db, ''), 1, { on: 'main' }),
    session: prepare(db.selectFrom('miniprogram_sessions').select(['openid', 'expires_at']).where('token_hash', '=', ''), 1),
    profile: prepare(db.selectFrom('miniprogram_profiles').select(profileColumns).where('openid', '=', ''), 1),
    history: prepare(db.selectFrom('miniprogram_history').select(['items', 'version']).where('openid', '=', ''), 1, { on: 'main' }),
    updateHistory: prepare(
      db
        .updateTable('miniprogram_history')
        .set({ items: '', version: sql<number>`version + 1`, updated_at: 0 })
        .where('openid', '=', '')
        .where('version', '=', 0),
      4,
      { on: 'main' },
    ),
    insertHistory: prepare(
      db
        .insertInto('miniprogram_history')
        .values({ openid: '', items: '', version: 1, updated_at: 0 })
        .onConflict((oc) => oc.column('openid').doNothing()),
      4,
      { on: 'main' },
    ),
  };
  const isFast = (ex: Executor) => ex === db;
  // `get`'s lookup on the reader as an array of values (better-sqlite3's raw rows), the columns in
  // sessionWithProfileQuery's order: an object per row costs a property per column, each name
  // looked up in V8's string table (~2% of `get`'s CPU in perf; bench/README.md, a fifth pass).
  // Undefined without a reader (PostgreSQL, `:memory:`): then q.sessionWithProfile as before.
  // The array comes as JSON text (`json`, sqlite-fast.ts): cheaper than better-sqlite3's raw row.
  const sessionWithProfileRaw = fast.statement<[string], RawSessionProfileRow>(
    sqliteIndexHint('miniprogram_profiles', 'p', 'miniprogram_profiles_openid_all')(sessionWithProfileQuery(db, '').compile().sql),
    { on: 'reader-only', json: true },
  );

  return {
    /** Registers the openid unless it already is (the unique index decides under concurrency). */
    async insertProfileIfAbsent(row: Omit<ProfileRow, 'id'>, ex: Executor = db): Promise<void> {
      await ex
        .insertInto('miniprogram_profiles')
        .values(row)
        .onConflict((oc) => oc.column('openid').doNothing())
        .execute();
    },

    async findProfile(openid: string, ex: Executor = db): Promise<ProfileRow | undefined> {
      if (isFast(ex)) return q.profile.first([openid]);
      return ex.selectFrom('miniprogram_profiles').select(profileColumns).where('openid', '=', openid).executeTakeFirst();
    },

    /** Changes some fields and moves modified_at; answers how many rows changed (0 = no such user). */
    async updateProfile(openid: string, patch: Partial<ProfileFields>, now: number, ex: Executor = db): Promise<number> {
      const r = await ex
        .updateTable('miniprogram_profiles')
        .set({ ...patch, modified_at: now })
        .where('openid', '=', openid)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },

    async insertSession(
      row: { token_hash: string; openid: string; session_key: string | null; created_at: number; expires_at: number },
      ex: Executor = db,
    ): Promise<void> {
      await ex.insertInto('miniprogram_sessions').values(row).execute();
    },

    async findSession(tokenHash: string, ex: Executor = db): Promise<SessionRow | undefined> {
      if (isFast(ex)) return q.session.first([tokenHash]);
      return ex.selectFrom('miniprogram_sessions').select(['openid', 'expires_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
    },

    /** The session and its openid's profile in one lookup by token hash. */
    async findSessionWithProfile(tokenHash: string, ex: Executor = db): Promise<SessionWithProfile | undefined> {
      if (sessionWithProfileRaw && isFast(ex)) {
        const r = sessionWithProfileRaw.get(tokenHash);
        if (!r) return undefined;
        const profile =
          r[2] === null
            ? undefined
            : {
                id: Number(r[2]),
                openid: r[3]!,
                phone: r[4]!,
                qq: r[5]!,
                cardno: r[6]!,
                wxid: r[7]!,
                created_at: r[8]!,
                modified_at: r[9]!,
              };
        return { openid: r[0], expires_at: Number(r[1]), profile };
      }
      const r: RawSessionProfile | undefined = isFast(ex)
        ? await q.sessionWithProfile.first([tokenHash])
        : await sessionWithProfileQuery(ex, tokenHash).executeTakeFirst();
      if (!r) return undefined;
      const profile =
        r.id === null || r.id === undefined
          ? undefined
          : {
              id: Number(r.id),
              openid: r.openid!,
              phone: r.phone!,
              qq: r.qq!,
              cardno: r.cardno!,
              wxid: r.wxid!,
              created_at: r.created_at!,
              modified_at: r.modified_at!,
            };
      return { openid: r.s_openid, expires_at: Number(r.s_expires_at), profile };
    },

    /** The session and its openid's history in one lookup by token hash. */
    async findSessionWithHistory(tokenHash: string, ex: Executor = db): Promise<SessionWithHistory | undefined> {
      const r = isFast(ex)
        ? await q.sessionWithHistory.first([tokenHash])
        : await sessionWithHistoryQuery(ex, tokenHash).executeTakeFirst();
      if (!r) return undefined;
      const history = r.items === null || r.items === undefined ? undefined : { items: r.items, version: Number(r.version) };
      return { openid: r.openid, expires_at: Number(r.expires_at), history };
    },

    /** Deletes an openid's expired sessions and all but its `keep` newest. */
    async pruneSessions(openid: string, now: number, keep: number, ex: Executor = db): Promise<void> {
      await ex
        .deleteFrom('miniprogram_sessions')
        .where('openid', '=', openid)
        .where((eb) =>
          eb.or([
            eb('expires_at', '<=', now),
            eb(
              'token_hash',
              'not in',
              eb
                .selectFrom('miniprogram_sessions')
                .select('token_hash')
                .where('openid', '=', openid)
                .orderBy('created_at', 'desc')
                .limit(keep),
            ),
          ]),
        )
        .execute();
    },

    /** Deletes every expired session (index on expires_at); answers how many. */
    async deleteExpiredSessions(now: number, ex: Executor = db): Promise<number> {
      const r = await ex.deleteFrom('miniprogram_sessions').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    async findHistory(openid: string, ex: Executor = db): Promise<HistoryRow | undefined> {
      const r = isFast(ex)
        ? await q.history.first([openid])
        : await ex.selectFrom('miniprogram_history').select(['items', 'version']).where('openid', '=', openid).executeTakeFirst();
      return r && { items: r.items, version: Number(r.version) };
    },

    /** Creates the openid's history row; false when another request created it first. */
    async insertHistory(openid: string, items: string, now: number, ex: Executor = db): Promise<boolean> {
      if (isFast(ex)) return (await q.insertHistory.run([openid, items, 1, now])) > 0;
      const r = await ex
        .insertInto('miniprogram_history')
        .values({ openid, items, version: 1, updated_at: now })
        .onConflict((oc) => oc.column('openid').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    },

    /** Replaces the history if it is still at `version`; false when another write came first. */
    async updateHistory(openid: string, items: string, version: number, now: number, ex: Executor = db): Promise<boolean> {
      if (isFast(ex)) return (await q.updateHistory.run([items, now, openid, version])) > 0;
      const r = await ex
        .updateTable('miniprogram_history')
        .set({ items, version: sql<number>`version + 1`, updated_at: now })
        .where('openid', '=', openid)
        .where('version', '=', version)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async deleteHistory(openid: string, ex: Executor = db): Promise<void> {
      await ex.deleteFrom('miniprogram_history').where('openid', '=', openid).execute();
    },
  };
}

export type MiniprogramRepo = ReturnType<typeof createMiniprogramRepo>;
