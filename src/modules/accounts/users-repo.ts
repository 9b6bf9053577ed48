/**
 * Thin Kysely queries over `users` and `sessions`: one query per method, an optional executor
 * (transaction) as the last argument. No rules here; see service.ts.
 */
import { sql, type Selectable } from 'kysely';
import type { DB, Executor } from '../../platform/db/index.js';
import { sqliteFast, type SqliteFast } from '../../platform/db/sqlite-fast.js';
import type { SessionsTable, UsersTable } from './tables.js';
import './tables.js';

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;

export interface NewUser {
  username: string;
  email: string | null;
  password_hash: string | null;
  is_active: number;
}

function sessionWithUserQuery(ex: Executor, tokenHash: string) {
  return ex
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id as session_id',
      'sessions.kind',
      'sessions.expires_at',
      'sessions.last_seen_at',
      'users.id',
      'users.username',
      'users.email',
      'users.password_hash',
      'users.is_active',
      'users.created_at',
      'users.updated_at',
    ])
    .where('sessions.token_hash', '=', tokenHash);
}
type SessionWithUser = Awaited<ReturnType<ReturnType<typeof sessionWithUserQuery>['executeTakeFirstOrThrow']>>;

/**
 * Builds the users/sessions repository on a database handle. `fast` (the handle's sqliteFast):
 * on SQLite with a read-only connection, the per-request session lookup is a statement prepared
 * once there (committed data only, no per-call Kysely build).
 */
export function createUsersRepo(db: DB, fast: SqliteFast = sqliteFast({ db })) {
  const fastSession = fast.query(sessionWithUserQuery(db, ''), 1, { on: 'reader-only' }).sqlite;
  return {
    async insertUser(u: NewUser, now: number, ex: Executor = db): Promise<UserRow> {
      return ex
        .insertInto('users')
        .values({ ...u, created_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    async byId(id: number, ex: Executor = db): Promise<UserRow | undefined> {
      return ex.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    },
    /** By username, whatever its case (usernames are unique regardless of case: index users_username_lower). */
    async byUsername(username: string, ex: Executor = db): Promise<UserRow | undefined> {
      return ex
        .selectFrom('users')
        .selectAll()
        .where(sql<string>`lower(username)`, '=', username.toLowerCase())
        .executeTakeFirst();
    },
    /**
     * Deletes registrations that were never activated and have expired (no live activation link,
     * or older than `maxAgeMs`), so their username and email are free again; `only` narrows it to
     * the ones holding that username or email. Sessions and codes go with them (ON DELETE CASCADE).
     */
    async deleteExpiredInactive(
      now: number,
      maxAgeMs: number,
      only?: { username: string; email: string },
      ex: Executor = db,
    ): Promise<number> {
      let q = ex
        .deleteFrom('users')
        .where('is_active', '=', 0)
        .where((eb) =>
          eb.or([
            eb('created_at', '<', now - maxAgeMs),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('one_time_codes')
                  .select('one_time_codes.id')
                  .whereRef('one_time_codes.user_id', '=', 'users.id')
                  .where('one_time_codes.purpose', '=', 'activation')
                  .where('one_time_codes.used_at', 'is', null)
                  .where('one_time_codes.expires_at', '>', now),
              ),
            ),
          ]),
        );
      if (only)
        q = q.where((eb) => eb.or([eb(sql<string>`lower(username)`, '=', only.username.toLowerCase()), eb('email', '=', only.email)]));
      const r = await q.executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async byEmail(email: string, ex: Executor = db): Promise<UserRow | undefined> {
      return ex.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    },
    async setPasswordHash(id: number, hash: string, now: number, ex: Executor = db): Promise<void> {
      await ex.updateTable('users').set({ password_hash: hash, updated_at: now }).where('id', '=', id).execute();
    },
    async activate(id: number, now: number, ex: Executor = db): Promise<void> {
      await ex.updateTable('users').set({ is_active: 1, updated_at: now }).where('id', '=', id).execute();
    },
    /**
     * Serialises writers per user on PostgreSQL (SELECT ... FOR UPDATE); SQLite transactions are
     * serialised by the database already, so a plain read there.
     */
    async lockUser(id: number, dialect: 'sqlite' | 'postgres', ex: Executor): Promise<boolean> {
      const q = ex.selectFrom('users').select('id').where('id', '=', id);
      const row = await (dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
      return row !== undefined;
    },

    async insertSession(
      s: { token_hash: string; user_id: number; kind: string; expires_at: number },
      now: number,
      ex: Executor = db,
    ): Promise<void> {
      await ex
        .insertInto('sessions')
        .values({ ...s, created_at: now, last_seen_at: now })
        .execute();
    },
    /** The session with its user, in one indexed query (committed data only). */
    async sessionWithUser(tokenHash: string, ex: Executor = db): Promise<SessionWithUser | undefined> {
      if (fastSession && ex === db) return fastSession.get([tokenHash]);
      return sessionWithUserQuery(ex, tokenHash).executeTakeFirst();
    },
    async touchSession(sessionId: number, now: number, ex: Executor = db): Promise<void> {
      await ex.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', sessionId).execute();
    },
    async deleteSessionByHash(tokenHash: string, ex: Executor = db): Promise<number> {
      const r = await ex.deleteFrom('sessions').where('token_hash', '=', tokenHash).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    /** Deletes a user's sessions, optionally of one kind, optionally keeping one. */
    async deleteSessionsOfUser(userId: number, opts: { kind?: string; exceptId?: number }, ex: Executor = db): Promise<number> {
      let q = ex.deleteFrom('sessions').where('user_id', '=', userId);
      if (opts.kind !== undefined) q = q.where('kind', '=', opts.kind);
      if (opts.exceptId !== undefined) q = q.where('id', '!=', opts.exceptId);
      const r = await q.executeTakeFirst();
      return Number(r.numDeletedRows);
    },
    async deleteExpiredSessions(now: number, ex: Executor = db): Promise<number> {
      const r = await ex.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type UsersRepo = ReturnType<typeof createUsersRepo>;
