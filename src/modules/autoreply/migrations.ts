/**
 * Migrations of the autoreply module (4xxx). Tables are prefixed `ar_` (and `mp_accounts`) so they
 * never collide with other modules'. Members are the accounts module's `users`; no foreign key
 * to it, because a module's migrations depend only on its own and the platform's tables.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { bigint, blob, withId } from '../../platform/db/columns.js';
import { dialectOf } from '../../platform/db/index.js';

export const migrations: Record<string, Migration> = {
  '4001_autoreply_rules': {
    async up(db: Kysely<any>) {
      // A rule set: a member's own rules (seed API, WeChat commands) or one connected account's.
      await withId(db, db.schema.createTable('ar_rule_sets'))
        .addColumn('kind', 'varchar(10)', (c) => c.notNull())
        .addColumn('user_id', bigint(db), (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('follow_reply', 'text')
        .addColumn('default_reply', 'text')
        .addColumn('next_position', 'integer', (c) => c.notNull().defaultTo(1))
        // Bumped by every change, so caches in every instance can tell they are stale.
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('updated_at', bigint(db), (c) => c.notNull())
        .execute();
      await sql`CREATE UNIQUE INDEX ar_rule_sets_member ON ar_rule_sets (user_id) WHERE kind = 'member'`.execute(db);

      await withId(db, db.schema.createTable('ar_rules'))
        .addColumn('rule_set_id', bigint(db), (c) => c.notNull().references('ar_rule_sets.id').onDelete('cascade'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('mode', 'varchar(10)', (c) => c.notNull().defaultTo('all'))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('updated_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ar_rules_position').unique().on('ar_rules').columns(['rule_set_id', 'position']).execute();

      await withId(db, db.schema.createTable('ar_rule_keywords'))
        .addColumn('rule_id', bigint(db), (c) => c.notNull().references('ar_rules.id').onDelete('cascade'))
        .addColumn('rule_set_id', bigint(db), (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('norm', 'varchar(400)', (c) => c.notNull())
        .addColumn('match', 'varchar(10)', (c) => c.notNull())
        .execute();
      // One keyword (normalized) per rule set: the seed's "duplicate keyword" is this constraint.
      await db.schema.createIndex('ar_rule_keywords_unique').unique().on('ar_rule_keywords').columns(['rule_set_id', 'norm']).execute();
      await db.schema.createIndex('ar_rule_keywords_rule').on('ar_rule_keywords').column('rule_id').execute();

      await withId(db, db.schema.createTable('ar_rule_replies'))
        .addColumn('rule_id', bigint(db), (c) => c.notNull().references('ar_rules.id').onDelete('cascade'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ar_rule_replies_rule').on('ar_rule_replies').columns(['rule_id', 'position']).execute();
    },
  },
  '4002_autoreply_accounts_and_wechat': {
    async up(db: Kysely<any>) {
      await withId(db, db.schema.createTable('mp_accounts'))
        .addColumn('user_id', bigint(db), (c) => c.notNull())
        .addColumn('rule_set_id', bigint(db), (c) => c.notNull().references('ar_rule_sets.id'))
        .addColumn('callback_id', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('appid', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(100)')
        // Sealed with core.secrets: the API secret, the callback token and the EncodingAESKey.
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('token_sealed', 'text', (c) => c.notNull())
        .addColumn('aes_key_sealed', 'text')
        .addColumn('verified_at', bigint(db))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mp_accounts_owner').unique().on('mp_accounts').columns(['user_id', 'appid']).execute();

      await withId(db, db.schema.createTable('ar_processed_messages'))
        .addColumn('account_key', 'varchar(80)', (c) => c.notNull())
        .addColumn('msg_key', 'varchar(200)', (c) => c.notNull())
        // JSON of the answer; NULL while the first delivery is still being processed.
        .addColumn('answer', 'text')
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ar_processed_unique').unique().on('ar_processed_messages').columns(['account_key', 'msg_key']).execute();
      await db.schema.createIndex('ar_processed_created').on('ar_processed_messages').column('created_at').execute();

      await db.schema
        .createTable('ar_default_replies')
        .addColumn('account_id', bigint(db), (c) => c.notNull())
        .addColumn('openid', 'varchar(64)', (c) => c.notNull())
        .addColumn('last_at', bigint(db), (c) => c.notNull())
        .addPrimaryKeyConstraint('ar_default_replies_pk', ['account_id', 'openid'])
        .execute();

      await withId(db, db.schema.createTable('ar_wechat_bindings'))
        .addColumn('appid', 'varchar(64)', (c) => c.notNull())
        .addColumn('openid', 'varchar(64)', (c) => c.notNull())
        .addColumn('user_id', bigint(db), (c) => c.notNull())
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ar_bindings_openid').unique().on('ar_wechat_bindings').columns(['appid', 'openid']).execute();
      await db.schema.createIndex('ar_bindings_user').unique().on('ar_wechat_bindings').columns(['appid', 'user_id']).execute();

      await withId(db, db.schema.createTable('ar_registration_codes'))
        .addColumn('code_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('appid', 'varchar(64)', (c) => c.notNull())
        .addColumn('openid', 'varchar(64)', (c) => c.notNull())
        .addColumn('expires_at', bigint(db), (c) => c.notNull())
        .addColumn('used_at', bigint(db))
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ar_codes_openid').on('ar_registration_codes').columns(['appid', 'openid']).execute();
      await db.schema.createIndex('ar_codes_expires').on('ar_registration_codes').column('expires_at').execute();

      await withId(db, db.schema.createTable('ar_qr_requests'))
        .addColumn('pid', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('scene_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('user_id', bigint(db), (c) => c.notNull())
        .addColumn('state', 'varchar(10)', (c) => c.notNull())
        .addColumn('png', blob(db))
        .addColumn('expires_at', bigint(db), (c) => c.notNull())
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ar_qr_user').on('ar_qr_requests').columns(['user_id', 'state']).execute();

      await db.schema
        .createTable('ar_access_tokens')
        .addColumn('appid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('token_sealed', 'text')
        .addColumn('expires_at', bigint(db), (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'varchar(32)')
        .addColumn('lease_until', bigint(db), (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '4003_autoreply_rule_names_and_reply_kinds': {
    // Rules get a name (optional, shown in the pages); replies become text, image (a media_id of
    // the account's material library) or news (one link card), as WeChat's own settings offer.
    // Existing replies are text: the default.
    async up(db: Kysely<any>) {
      await db.schema.alterTable('ar_rules').addColumn('name', 'varchar(60)').execute();
      await db.schema
        .alterTable('ar_rule_replies')
        .addColumn('kind', 'varchar(10)', (c) => c.notNull().defaultTo('text'))
        .execute();
      await db.schema.alterTable('ar_rule_replies').addColumn('data', 'text').execute();
    },
  },
  '4004_autoreply_rule_bytes': {
    // Each rule's size (UTF-8 bytes of its name, keywords and replies), so a member's total is one
    // SUM under the per-member cap (issue 10 item 8). Existing rules are measured in characters
    // (LENGTH, the same on both databases): close enough for a cap.
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('ar_rules')
        .addColumn('bytes', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`UPDATE ar_rules SET bytes = COALESCE(LENGTH(name), 0)
        + COALESCE((SELECT SUM(LENGTH(k.text)) FROM ar_rule_keywords k WHERE k.rule_id = ar_rules.id), 0)
        + COALESCE((SELECT SUM(LENGTH(p.text) + COALESCE(LENGTH(p.data), 0)) FROM ar_rule_replies p WHERE p.rule_id = ar_rules.id), 0)`.execute(
        db,
      );
      await db.schema.createIndex('ar_rule_sets_user').on('ar_rule_sets').column('user_id').execute();
    },
  },
  '4010_autoreply_tokens_by_credentials': {
    // Issue 10 item 1: access tokens are keyed by appid + a hash of the secret that obtained them
    // (platform/wechat/access-token.ts credentialsKey). Rows keyed by a bare appid could hand one
    // tenant's token to another: drop them; the next use asks WeChat with its own secret.
    async up(db: Kysely<any>) {
      await db.deleteFrom('ar_access_tokens').where('appid', 'not like', '%:%').execute();
    },
  },
  '4011_autoreply_processed_messages_fewer_pages': {
    // Issue 15: the webhook commits its dedupe records once per event-loop turn before answering,
    // and a commit costs per page written. Bare better-sqlite3 on these tables (WAL, 4 KiB pages,
    // 60,000-300,000 rows held, random MsgIds; bench/README.md "a seventh pass"), WAL frames per
    // commit of 1 / 5 / 10 rows: 4.4 / 10.3 / 17.3 before, 2.4 / 7.8 / 14.7 after.
    // SQLite: the id stays the rowid but loses AUTOINCREMENT (which rewrote `sqlite_sequence` at
    // every commit; nothing reads the id), and the `created_at` index goes: ids grow with the
    // insert order, so the prune takes the oldest ids (wechat-repo.ts `prune`). The unique index
    // on the pair stays the dedupe. A `WITHOUT ROWID` table keyed by the pair was measured too and
    // not taken: its leaves hold the answers, so a batch of random MsgIds dirties more pages (18.6
    // frames per commit of 10 rows).
    // PostgreSQL: no serial id (one index and a sequence less per row); the unique index on the
    // pair becomes the primary key. The `created_at` index stays: the heap has no insert order.
    async up(db: Kysely<any>) {
      if (dialectOf(db) === 'postgres') {
        await sql`ALTER TABLE ar_processed_messages DROP COLUMN id`.execute(db);
        await sql`ALTER TABLE ar_processed_messages ADD PRIMARY KEY USING INDEX ar_processed_unique`.execute(db);
        return;
      }
      await sql`CREATE TABLE ar_processed_messages_new (
        id integer PRIMARY KEY,
        account_key varchar(80) NOT NULL,
        msg_key varchar(200) NOT NULL,
        answer text,
        created_at integer NOT NULL
      )`.execute(db);
      await sql`INSERT INTO ar_processed_messages_new (id, account_key, msg_key, answer, created_at)
        SELECT id, account_key, msg_key, answer, created_at FROM ar_processed_messages ORDER BY id`.execute(db);
      await sql`DROP TABLE ar_processed_messages`.execute(db);
      await sql`ALTER TABLE ar_processed_messages_new RENAME TO ar_processed_messages`.execute(db);
      await db.schema.createIndex('ar_processed_unique').unique().on('ar_processed_messages').columns(['account_key', 'msg_key']).execute();
    },
  },
  '4012_autoreply_default_replies_one_btree': {
    // Issue 15: a follower's first default reply in the hour writes its time in the webhook's
    // dedupe group commit (an upsert), and an unmatched message reads it. On SQLite the table was
    // a rowid table plus its primary-key index: two B-trees per upsert (a random leaf of the
    // index, the table's last page) and two lookups per read. `WITHOUT ROWID` keyed by (account,
    // follower) keeps the rows (~40 bytes) in the key's B-tree: one tree written and searched.
    // PostgreSQL: nothing to change (a heap and its primary key; it has no clustered table).
    async up(db: Kysely<any>) {
      if (dialectOf(db) === 'postgres') return;
      await sql`CREATE TABLE ar_default_replies_new (
        account_id integer NOT NULL,
        openid varchar(64) NOT NULL,
        last_at integer NOT NULL,
        CONSTRAINT ar_default_replies_pk PRIMARY KEY (account_id, openid)
      ) WITHOUT ROWID`.execute(db);
      await sql`INSERT INTO ar_default_replies_new (account_id, openid, last_at)
        SELECT account_id, openid, last_at FROM ar_default_replies`.execute(db);
      await sql`DROP TABLE ar_default_replies`.execute(db);
      await sql`ALTER TABLE ar_default_replies_new RENAME TO ar_default_replies`.execute(db);
    },
  },
};
