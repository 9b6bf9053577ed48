/** Migrations of the accounts module (names in its own number range; see platform/db/migrate.ts). */
import { sql, type Kysely, type Migration } from 'kysely';
import { bigint, withId } from '../../platform/db/columns.js';
import { dialectOf } from '../../platform/db/index.js';

export const migrations: Record<string, Migration> = {
  '2001_accounts_users_sessions': {
    async up(db: Kysely<any>) {
      await withId(db, db.schema.createTable('users'))
        .addColumn('username', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('email', 'varchar(254)', (c) => c.unique())
        .addColumn('password_hash', 'varchar(255)')
        .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('updated_at', bigint(db), (c) => c.notNull())
        .execute();
      await withId(db, db.schema.createTable('sessions'))
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('user_id', bigint(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('expires_at', bigint(db), (c) => c.notNull())
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('last_seen_at', bigint(db), (c) => c.notNull())
        .execute();
      // "Revoke every session of this user (of this kind)".
      await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id', 'kind']).execute();
    },
  },
  '2002_accounts_codes_addresses': {
    async up(db: Kysely<any>) {
      await withId(db, db.schema.createTable('one_time_codes'))
        .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
        .addColumn('user_id', bigint(db), (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('email', 'varchar(254)')
        .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('tries', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expires_at', bigint(db), (c) => c.notNull())
        .addColumn('used_at', bigint(db))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .execute();
      // Links and tickets are looked up by their hash; recovery codes by (purpose, email).
      await db.schema.createIndex('one_time_codes_hash').on('one_time_codes').columns(['code_hash']).execute();
      await db.schema.createIndex('one_time_codes_email').on('one_time_codes').columns(['purpose', 'email', 'created_at']).execute();
      await db.schema.createIndex('one_time_codes_user').on('one_time_codes').columns(['user_id', 'purpose']).execute();

      await withId(db, db.schema.createTable('addresses'))
        .addColumn('user_id', bigint(db), (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('receiver', 'varchar(40)', (c) => c.notNull())
        .addColumn('address', 'varchar(400)', (c) => c.notNull())
        .addColumn('tag', 'varchar(40)', (c) => c.notNull())
        .addColumn('receiver_phone', 'varchar(11)', (c) => c.notNull())
        .addColumn('postcode', 'varchar(6)', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('updated_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('addresses_user').on('addresses').columns(['user_id', 'is_active']).execute();
      // The guard behind "exactly one default": a second active default for a user cannot commit.
      await sql`CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id) WHERE is_default = 1 AND is_active = 1`.execute(db);
    },
  },
  '2003_accounts_username_any_case': {
    async up(db: Kysely<any>) {
      // Usernames become unique regardless of case. Rows that already clash keep working: the
      // first of each group (activated first, then oldest) keeps its name; each other one gets
      // "<name>.<id>" (a name nobody else can hold, since ids are unique), so nothing is lost and
      // those members still sign in by email. Then the expression index makes the rule hold.
      const clashes = await sql<{ l: string }>`SELECT lower(username) AS l FROM users GROUP BY lower(username) HAVING COUNT(*) > 1`.execute(
        db,
      );
      for (const { l } of clashes.rows) {
        const rows = await sql<{
          id: number;
          username: string;
        }>`SELECT id, username FROM users WHERE lower(username) = ${l} ORDER BY is_active DESC, id ASC`.execute(db);
        for (const r of rows.rows.slice(1)) {
          let name = `${r.username}.${r.id}`;
          while ((await sql`SELECT 1 FROM users WHERE lower(username) = ${name.toLowerCase()}`.execute(db)).rows.length > 0)
            name = `${name}.${r.id}`;
          await sql`UPDATE users SET username = ${name} WHERE id = ${r.id}`.execute(db);
        }
      }
      await sql`CREATE UNIQUE INDEX users_username_lower ON users (lower(username))`.execute(db);
      // Expired registrations are found by (is_active, created_at).
      await db.schema.createIndex('users_inactive').on('users').columns(['is_active', 'created_at']).execute();
    },
  },
  '2004_accounts_international_addresses': {
    // Phones as people write them: E.164 (up to 16 characters) for international numbers, and the
    // seed's own "12345678901" kept as typed (up to 20); postcodes abroad have letters and up to
    // 10 characters; tag and postcode may be empty. PostgreSQL enforces varchar lengths (widening
    // is a catalog change, no rewrite); SQLite does not.
    async up(db: Kysely<any>) {
      if (dialectOf(db) !== 'postgres') return;
      await sql`ALTER TABLE addresses ALTER COLUMN receiver_phone TYPE varchar(20), ALTER COLUMN postcode TYPE varchar(12)`.execute(db);
    },
  },
};
