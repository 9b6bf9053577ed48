/** Migrations of the miniprogram module (names in its own number range; see platform/db/migrate.ts). */
import { sql, type Kysely, type Migration } from 'kysely';
import { bigint, withId } from '../../platform/db/columns.js';
import { dialectOf } from '../../platform/db/index.js';

export const migrations: Record<string, Migration> = {
  '3001_miniprogram_profiles_sessions_history': {
    async up(db: Kysely<any>) {
      await withId(db, db.schema.createTable('miniprogram_profiles'))
        .addColumn('openid', 'varchar(128)', (c) => c.notNull())
        .addColumn('phone', 'varchar(11)', (c) => c.notNull())
        .addColumn('qq', 'varchar(12)', (c) => c.notNull())
        .addColumn('cardno', 'varchar(20)', (c) => c.notNull())
        .addColumn('wxid', 'varchar(20)', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('modified_at', bigint(db), (c) => c.notNull())
        .execute();
      // One user per openid, even under concurrent logins (insert-or-ignore relies on it).
      await db.schema.createIndex('miniprogram_profiles_openid').unique().on('miniprogram_profiles').column('openid').execute();

      const sessions = db.schema
        .createTable('miniprogram_sessions')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('openid', 'varchar(128)', (c) => c.notNull())
        .addColumn('session_key', 'text')
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('expires_at', bigint(db), (c) => c.notNull());
      // SQLite: the table is its token_hash B-tree, so the token check (every request) is one
      // descent instead of two (measured ~25% faster at 100,000 sessions).
      await (dialectOf(db) === 'sqlite' ? sessions.modifyEnd(sql`WITHOUT ROWID`) : sessions).execute();
      // Pruning an openid's old sessions, and the periodic sweep of expired ones.
      await db.schema.createIndex('miniprogram_sessions_openid').on('miniprogram_sessions').columns(['openid', 'created_at']).execute();
      await db.schema.createIndex('miniprogram_sessions_expires').on('miniprogram_sessions').column('expires_at').execute();

      await db.schema
        .createTable('miniprogram_history')
        .addColumn('openid', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('items', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', bigint(db), (c) => c.notNull())
        .execute();
    },
  },
  '3002_miniprogram_profiles_covering_index': {
    // `get` reads the whole profile by openid on every call: with every column in one index the
    // lookup is one B-tree descent instead of the unique index's and then the table's (measured at
    // 100,000 users: about 15 us less server CPU per `get`). The unique index stays: it is what
    // makes one user per openid.
    async up(db: Kysely<any>) {
      await db.schema
        .createIndex('miniprogram_profiles_openid_all')
        .on('miniprogram_profiles')
        .columns(['openid', 'id', 'phone', 'qq', 'cardno', 'wxid', 'created_at', 'modified_at'])
        .execute();
    },
  },
  '3050_miniprogram_profiles_wider_fields': {
    // The profile fields take what people write (issue 12): qq is free text from the school's SSO
    // (a name in the seed's example), school numbers like "2019-0111", phones with + and spaces.
    // PostgreSQL enforces varchar lengths (widening is a catalog change, no rewrite); SQLite does not.
    async up(db: Kysely<any>) {
      if (dialectOf(db) !== 'postgres') return;
      await sql`ALTER TABLE miniprogram_profiles
        ALTER COLUMN phone TYPE varchar(20),
        ALTER COLUMN qq TYPE varchar(50),
        ALTER COLUMN cardno TYPE varchar(32),
        ALTER COLUMN wxid TYPE varchar(50)`.execute(db);
    },
  },
};
