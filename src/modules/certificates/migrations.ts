/** Migrations of the certificates module (names in its own number range; see platform/db/migrate.ts). */
import { sql, type Kysely, type Migration } from 'kysely';
import { bigint, blob, withId } from '../../platform/db/columns.js';
import { dialectOf } from '../../platform/db/index.js';

export const migrations: Record<string, Migration> = {
  '1001_certificates_tables': {
    async up(db: Kysely<any>) {
      const t = bigint(db);
      await withId(db, db.schema.createTable('campaigns'))
        .addColumn('slug', 'varchar(100)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('organization', 'varchar(200)', (c) => c.notNull().defaultTo(''))
        .addColumn('website', 'varchar(500)', (c) => c.notNull().defaultTo(''))
        .addColumn('claim_url', 'varchar(500)')
        .addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('layout', 'text')
        .addColumn('template_sha', 'varchar(64)')
        .addColumn('template_type', 'varchar(10)')
        .addColumn('template_width', 'integer')
        .addColumn('template_height', 'integer')
        .addColumn('date_format', 'varchar(50)', (c) => c.notNull().defaultTo('YYYY年MM月DD日'))
        .addColumn('output', 'varchar(10)', (c) => c.notNull().defaultTo('png'))
        .addColumn('mail_subject', 'text')
        .addColumn('mail_body', 'text')
        .addColumn('smtp_host', 'varchar(255)')
        .addColumn('smtp_port', 'integer')
        .addColumn('smtp_security', 'varchar(10)')
        .addColumn('smtp_user', 'varchar(255)')
        .addColumn('smtp_password', 'text')
        .addColumn('smtp_from', 'varchar(300)')
        .addColumn('rate_per_sec', 'integer')
        .addColumn('daily_limit', 'integer')
        .addColumn('sending', 'varchar(10)', (c) => c.notNull().defaultTo('idle'))
        .addColumn('paused_until', t)
        .addColumn('created_at', t, (c) => c.notNull())
        .addColumn('updated_at', t, (c) => c.notNull())
        .execute();
      await withId(db, db.schema.createTable('recipients'))
        .addColumn('campaign_id', 'integer', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
        .addColumn('email', 'varchar(320)', (c) => c.notNull())
        .addColumn('number', 'varchar(100)')
        .addColumn('name', 'varchar(400)')
        .addColumn('token_hash', 'varchar(64)')
        .addColumn('pending_token', 'text')
        .addColumn('status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('failure', 'text')
        .addColumn('failed_at', t)
        .addColumn('retry_at', t)
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('notice_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cert_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('certificate_id', 'varchar(40)')
        .addColumn('claimed_at', t)
        .addColumn('issued_at', t)
        .addColumn('created_at', t, (c) => c.notNull())
        .addColumn('updated_at', t, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('recipients_campaign_email').unique().on('recipients').columns(['campaign_id', 'email']).execute();
      await db.schema.createIndex('recipients_token_hash').unique().on('recipients').column('token_hash').execute();
      await db.schema.createIndex('recipients_certificate_id').unique().on('recipients').column('certificate_id').execute();
      await db.schema.createIndex('recipients_campaign_status').on('recipients').columns(['campaign_id', 'status', 'id']).execute();
      if (dialectOf(db) === 'postgres') {
        // Prefix search (`email LIKE 'abc%'`) uses an index only with pattern ops under a non-C collation.
        await sql`CREATE INDEX recipients_email_prefix ON recipients (campaign_id, email text_pattern_ops)`.execute(db);
      }
      await db.schema
        .createTable('certificate_templates')
        .addColumn('sha256', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('type', 'varchar(10)', (c) => c.notNull())
        .addColumn('width', 'integer', (c) => c.notNull())
        .addColumn('height', 'integer', (c) => c.notNull())
        .addColumn('bytes', blob(db), (c) => c.notNull())
        .addColumn('created_at', t, (c) => c.notNull())
        .execute();
      const now = Date.now();
      await db.insertInto('campaigns').values({ slug: 'default', name: 'Default campaign', created_at: now, updated_at: now }).execute();
    },
  },
  /**
   * Verifiable credentials (issue 16): issued certificates as their own rows (a reset or a
   * corrected name no longer makes /verify/<id> answer 404), signing keys, logos, custom fields,
   * kept links for reminders. Existing certificates are copied in, in id order per campaign.
   */
  '1200_credentials': {
    async up(db: Kysely<any>) {
      const t = bigint(db);
      await db.schema.alterTable('campaigns').addColumn('logo_sha', 'varchar(64)').execute();
      await db.schema.alterTable('campaigns').addColumn('logo_type', 'varchar(10)').execute();
      await db.schema.alterTable('campaigns').addColumn('custom_fields', 'text').execute();
      await db.schema
        .alterTable('campaigns')
        .addColumn('status_next', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('recipients').addColumn('fields', 'text').execute();
      await db.schema.alterTable('recipients').addColumn('link_sealed', 'text').execute();
      await withId(db, db.schema.createTable('issued_certificates'))
        .addColumn('public_id', 'varchar(40)', (c) => c.notNull().unique())
        .addColumn('campaign_id', 'integer', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
        .addColumn('recipient_id', 'integer', (c) => c.references('recipients.id').onDelete('set null'))
        .addColumn('name', 'varchar(400)', (c) => c.notNull())
        .addColumn('number', 'varchar(100)')
        .addColumn('fields', 'text')
        .addColumn('issued_at', t, (c) => c.notNull())
        .addColumn('status_index', 'integer', (c) => c.notNull())
        .addColumn('revoked_at', t)
        .addColumn('revocation_reason', 'varchar(500)')
        .addColumn('replaced_by', 'varchar(40)')
        .addColumn('created_at', t, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('issued_certificates_status')
        .unique()
        .on('issued_certificates')
        .columns(['campaign_id', 'status_index'])
        .execute();
      await db.schema.createIndex('issued_certificates_recipient').on('issued_certificates').column('recipient_id').execute();
      // The status list reads only revoked rows of a campaign: a small partial index.
      await db.schema
        .createIndex('issued_certificates_revoked')
        .on('issued_certificates')
        .columns(['campaign_id', 'status_index'])
        .where(sql.ref('revoked_at'), 'is not', null)
        .execute();
      await db.schema
        .createTable('credential_keys')
        .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_sealed', 'text', (c) => c.notNull())
        .addColumn('active', 'integer')
        .addColumn('created_at', t, (c) => c.notNull())
        .addColumn('retired_at', t)
        .execute();
      // At most one signing key: two instances generating the first key at once cannot both win.
      await db.schema
        .createIndex('credential_keys_active')
        .unique()
        .on('credential_keys')
        .column('active')
        .where(sql.ref('active'), '=', 1)
        .execute();
      await sql`INSERT INTO issued_certificates (public_id, campaign_id, recipient_id, name, number, fields, issued_at, status_index, created_at)
        SELECT certificate_id, campaign_id, id, name, number, NULL, COALESCE(issued_at, updated_at),
               ROW_NUMBER() OVER (PARTITION BY campaign_id ORDER BY id) - 1, updated_at
        FROM recipients WHERE certificate_id IS NOT NULL AND name IS NOT NULL AND issued_at IS NOT NULL`.execute(db);
      await sql`UPDATE campaigns SET status_next = (SELECT COUNT(*) FROM issued_certificates WHERE issued_certificates.campaign_id = campaigns.id)`.execute(
        db,
      );
    },
  },

  /**
   * Substring search over email, name and number (issue 14 item 5): SQLite an FTS5 table with the
   * trigram tokenizer kept by triggers (external content: the text is not stored twice);
   * PostgreSQL pg_trgm GIN indexes, used by ILIKE '%q%' (skipped with a warning when the server
   * lacks the extension: search still works, scanning the campaign).
   */
  '1450_recipients_search': {
    async up(db: Kysely<any>) {
      if (dialectOf(db) === 'postgres') {
        const avail = await sql<{ n: number }>`SELECT COUNT(*)::int AS n FROM pg_available_extensions WHERE name = 'pg_trgm'`.execute(db);
        if (!avail.rows[0]?.n) return;
        await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
        for (const col of ['email', 'name', 'number']) {
          await sql`CREATE INDEX ${sql.id(`recipients_${col}_trgm`)} ON recipients USING gin (${sql.ref(col)} gin_trgm_ops)`.execute(db);
        }
        return;
      }
      await sql`CREATE VIRTUAL TABLE recipients_fts USING fts5(email, name, number, content='recipients', content_rowid='id', tokenize='trigram')`.execute(
        db,
      );
      await sql`CREATE TRIGGER recipients_fts_ai AFTER INSERT ON recipients BEGIN
        INSERT INTO recipients_fts(rowid, email, name, number) VALUES (new.id, new.email, new.name, new.number); END`.execute(db);
      await sql`CREATE TRIGGER recipients_fts_ad AFTER DELETE ON recipients BEGIN
        INSERT INTO recipients_fts(recipients_fts, rowid, email, name, number) VALUES ('delete', old.id, old.email, old.name, old.number); END`.execute(
        db,
      );
      await sql`CREATE TRIGGER recipients_fts_au AFTER UPDATE OF email, name, number ON recipients BEGIN
        INSERT INTO recipients_fts(recipients_fts, rowid, email, name, number) VALUES ('delete', old.id, old.email, old.name, old.number);
        INSERT INTO recipients_fts(rowid, email, name, number) VALUES (new.id, new.email, new.name, new.number); END`.execute(db);
      await sql`INSERT INTO recipients_fts(recipients_fts) VALUES ('rebuild')`.execute(db);
    },
  },
  /**
   * SQLite search without the per-row insert trigger (it made imports ~10x slower): new rows start
   * with search_indexed = 0 and the background indexer (search-indexer.ts) adds them to
   * recipients_fts in batches; search scans the unindexed rows of the campaign meanwhile (the
   * partial index finds them). The delete and update triggers fire only for indexed rows: an
   * external-content FTS5 'delete' of a row that was never inserted corrupts the index. Setting
   * search_indexed does not fire the update trigger (it watches email, name and number only).
   */
  '1451_recipients_search_indexer': {
    async up(db: Kysely<any>) {
      if (dialectOf(db) === 'postgres') return;
      for (const t of ['recipients_fts_ai', 'recipients_fts_ad', 'recipients_fts_au'])
        await sql`DROP TRIGGER IF EXISTS ${sql.id(t)}`.execute(db);
      await sql`ALTER TABLE recipients ADD COLUMN search_indexed integer NOT NULL DEFAULT 0`.execute(db);
      // Rows there now are in recipients_fts already (the insert trigger and the rebuild of 1450).
      await sql`UPDATE recipients SET search_indexed = 1`.execute(db);
      await sql`CREATE INDEX recipients_search_unindexed ON recipients (campaign_id, id) WHERE search_indexed = 0`.execute(db);
      await sql`CREATE TRIGGER recipients_fts_ad AFTER DELETE ON recipients WHEN old.search_indexed = 1 BEGIN
        INSERT INTO recipients_fts(recipients_fts, rowid, email, name, number) VALUES ('delete', old.id, old.email, old.name, old.number); END`.execute(
        db,
      );
      await sql`CREATE TRIGGER recipients_fts_au AFTER UPDATE OF email, name, number ON recipients WHEN old.search_indexed = 1 BEGIN
        INSERT INTO recipients_fts(recipients_fts, rowid, email, name, number) VALUES ('delete', old.id, old.email, old.name, old.number);
        INSERT INTO recipients_fts(rowid, email, name, number) VALUES (new.id, new.email, new.name, new.number); END`.execute(db);
    },
  },
  /**
   * Deliverability (issue 17): the campaign's sender name and Reply-To, its bounce mailbox
   * (sealed IMAP URL), one-click unsubscribe and bounces per volunteer, the Message-ID of every
   * notice (bounces are matched by it), the blocklist of hard-bounced addresses, DKIM keys.
   */
  '1300_deliverability': {
    async up(db: Kysely<any>) {
      const t = bigint(db);
      await db.schema.alterTable('campaigns').addColumn('from_name', 'varchar(200)').execute();
      await db.schema.alterTable('campaigns').addColumn('reply_to', 'varchar(320)').execute();
      await db.schema.alterTable('campaigns').addColumn('bounce_imap', 'text').execute();
      await db.schema.alterTable('recipients').addColumn('unsubscribed_at', t).execute();
      await db.schema.alterTable('recipients').addColumn('bounced_at', t).execute();
      await db.schema
        .createTable('notice_messages')
        .addColumn('message_id', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('recipient_id', 'integer', (c) => c.notNull().references('recipients.id').onDelete('cascade'))
        .addColumn('campaign_id', 'integer', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
        .addColumn('created_at', t, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('notice_messages_recipient').on('notice_messages').column('recipient_id').execute();
      await db.schema
        .createTable('mail_blocklist')
        .addColumn('email', 'varchar(320)', (c) => c.primaryKey())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('campaign_id', 'integer', (c) => c.references('campaigns.id').onDelete('set null'))
        .addColumn('message_id', 'varchar(255)')
        .addColumn('created_at', t, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('mail_dkim_keys')
        .addColumn('domain', 'varchar(255)', (c) => c.primaryKey())
        .addColumn('selector', 'varchar(63)', (c) => c.notNull())
        .addColumn('private_sealed', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', t, (c) => c.notNull())
        .addColumn('updated_at', t, (c) => c.notNull())
        .execute();
    },
  },
  /**
   * Sending by a fleet (issue 11): why a campaign is paused (an SMTP outage, with how many probes
   * failed so far), and when each notice was accepted (the fleet's rate in progress).
   */
  '1310_certificates_fleet_sending': {
    async up(db: Kysely<any>) {
      const t = bigint(db);
      await db.schema.alterTable('campaigns').addColumn('pause_reason', 'text').execute();
      await db.schema
        .alterTable('campaigns')
        .addColumn('outage_probes', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('recipients').addColumn('noticed_at', t).execute();
      // The attempting marker: which instance is sending this notice right now, and until when.
      await db.schema.alterTable('recipients').addColumn('sending_by', 'varchar(64)').execute();
      await db.schema.alterTable('recipients').addColumn('sending_until', t).execute();
    },
  },
  /**
   * The console's volunteer list at 1,000,000 volunteers (issue 15): its first page walks an index
   * in id order (no sort of the whole campaign), and its total is read from per-(campaign, status)
   * counts that triggers keep, instead of counting the campaign's rows on every page (~150 ms at
   * 1,000,000 on the shared machine). In SQLite an index on campaign_id is ordered by
   * (campaign_id, rowid); PostgreSQL gets (campaign_id, id) explicitly. The campaign's progress
   * (counts by status, failures) reads the same counts and a partial index of the failed rows.
   */
  '1310_recipient_list_at_scale': {
    async up(db: Kysely<any>) {
      await db.schema.createIndex('recipients_campaign_id').on('recipients').columns(['campaign_id', 'id']).execute();
      // Failed notices are few: the progress count and the "failed" filter read only them.
      await db.schema
        .createIndex('recipients_failed')
        .on('recipients')
        .columns(['campaign_id', 'id'])
        .where(sql.ref('failure'), 'is not', null)
        .execute();
      await db.schema
        .createTable('recipient_counts')
        .addColumn('campaign_id', 'integer', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('recipient_counts_pk', ['campaign_id', 'status'])
        .execute();
      await sql`INSERT INTO recipient_counts (campaign_id, status, n) SELECT campaign_id, status, COUNT(*) FROM recipients GROUP BY campaign_id, status`.execute(
        db,
      );
      const inc = (c: string, s: string) =>
        sql.raw(
          `INSERT INTO recipient_counts (campaign_id, status, n) VALUES (${c}, ${s}, 1) ON CONFLICT (campaign_id, status) DO UPDATE SET n = recipient_counts.n + 1`,
        );
      const dec = (c: string, s: string) => sql.raw(`UPDATE recipient_counts SET n = n - 1 WHERE campaign_id = ${c} AND status = ${s}`);
      if (dialectOf(db) === 'postgres') {
        await sql`CREATE FUNCTION recipient_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN ${dec('OLD.campaign_id', 'OLD.status')}; END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN ${inc('NEW.campaign_id', 'NEW.status')}; END IF;
            RETURN NULL;
          END $$`.execute(db);
        await sql`CREATE TRIGGER recipient_counts_insdel AFTER INSERT OR DELETE ON recipients FOR EACH ROW EXECUTE FUNCTION recipient_counts_keep()`.execute(
          db,
        );
        await sql`CREATE TRIGGER recipient_counts_upd AFTER UPDATE OF campaign_id, status ON recipients FOR EACH ROW
          WHEN (OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION recipient_counts_keep()`.execute(
          db,
        );
      } else {
        await sql`CREATE TRIGGER recipient_counts_ins AFTER INSERT ON recipients BEGIN ${inc('NEW.campaign_id', 'NEW.status')}; END`.execute(
          db,
        );
        await sql`CREATE TRIGGER recipient_counts_del AFTER DELETE ON recipients BEGIN ${dec('OLD.campaign_id', 'OLD.status')}; END`.execute(
          db,
        );
        await sql`CREATE TRIGGER recipient_counts_upd AFTER UPDATE OF campaign_id, status ON recipients
          WHEN OLD.campaign_id IS NOT NEW.campaign_id OR OLD.status IS NOT NEW.status
          BEGIN ${dec('OLD.campaign_id', 'OLD.status')}; ${inc('NEW.campaign_id', 'NEW.status')}; END`.execute(db);
      }
    },
  },
  /**
   * Progress over time (issue 14 item 6) and the fleet's pace: sent, claimed and failed per minute
   * of a campaign are read through these index ranges, never by a pass over the campaign (the pace
   * query counted every row of the campaign on each progress event: O(n) at 1,000,000). Partial:
   * imported rows (all three times null) add nothing to an import.
   */
  '1460_recipients_progress_times': {
    async up(db: Kysely<any>) {
      for (const col of ['noticed_at', 'claimed_at', 'failed_at']) {
        await db.schema
          .createIndex(`recipients_${col}`)
          .on('recipients')
          .columns(['campaign_id', col])
          .where(sql.ref(col), 'is not', null)
          .execute();
      }
    },
  },
  /**
   * The per-(campaign, status) counts without a per-row insert trigger (issue 15): the trigger's
   * upsert per inserted row tripled an import's time (100,000 rows: 4.75 s with it, 1.59 s
   * without). SQLite has only row triggers, so its imports add each slice's counts themselves, in
   * the slice's transaction (recipients-repo.ts `insertMany`, `insertLegacy`); PostgreSQL counts
   * once per INSERT statement through its transition table, and deletes the same way. Updates
   * keep their row trigger on both (it fires only when a row's campaign or status changes; the
   * sender, claims and the console change one row, or a batch, at a time), as do SQLite's deletes.
   */
  '1470_recipient_counts_per_statement': {
    async up(db: Kysely<any>) {
      if (dialectOf(db) === 'postgres') {
        await sql`DROP TRIGGER recipient_counts_insdel ON recipients`.execute(db);
        await sql`CREATE FUNCTION recipient_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            INSERT INTO recipient_counts (campaign_id, status, n)
              SELECT campaign_id, status, COUNT(*) FROM recipient_counts_new GROUP BY campaign_id, status
              ON CONFLICT (campaign_id, status) DO UPDATE SET n = recipient_counts.n + EXCLUDED.n;
            RETURN NULL;
          END $$`.execute(db);
        await sql`CREATE FUNCTION recipient_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            UPDATE recipient_counts c SET n = c.n - d.n
              FROM (SELECT campaign_id, status, COUNT(*) AS n FROM recipient_counts_old GROUP BY campaign_id, status) d
              WHERE c.campaign_id = d.campaign_id AND c.status = d.status;
            RETURN NULL;
          END $$`.execute(db);
        await sql`CREATE TRIGGER recipient_counts_ins AFTER INSERT ON recipients REFERENCING NEW TABLE AS recipient_counts_new
          FOR EACH STATEMENT EXECUTE FUNCTION recipient_counts_added()`.execute(db);
        await sql`CREATE TRIGGER recipient_counts_del AFTER DELETE ON recipients REFERENCING OLD TABLE AS recipient_counts_old
          FOR EACH STATEMENT EXECUTE FUNCTION recipient_counts_removed()`.execute(db);
        return;
      }
      await sql`DROP TRIGGER recipient_counts_ins`.execute(db);
    },
  },
  /**
   * Fewer index entries per imported row (issue 15: the import of 1,000,000 under 8 s).
   * - The link and certificate ids are unique where present; an imported row has neither, and
   *   both unique indexes held an entry for its NULLs. Now partial (`IS NOT NULL`): a lookup by
   *   value (`token_hash = ?`, `IN (...)`) still uses them, on both dialects.
   * - SQLite's search: instead of a `search_indexed` flag per row (an entry in the partial index
   *   `recipients_search_unindexed` at insert, then the indexer's UPDATE of every row once, which
   *   rewrote the row and that index), one watermark: `recipients_search_progress.indexed_to`,
   *   the highest id in recipients_fts. Ids only grow (AUTOINCREMENT: never reused, assigned
   *   under the one write lock), so every row up to it is indexed and none after it: the indexer
   *   reads the next ids from the table's own b-tree, search finds the unindexed rows of a
   *   campaign through (campaign_id, id), and a row moved to another campaign stays indexed.
   *   Rows still waiting here (the old indexer went campaign by campaign, so they are not all
   *   above the indexed ones) are indexed by this migration first.
   */
  '1480_recipients_import_indexes': {
    async up(db: Kysely<any>) {
      for (const col of ['token_hash', 'certificate_id']) {
        await sql`DROP INDEX ${sql.id(`recipients_${col}`)}`.execute(db);
        await db.schema
          .createIndex(`recipients_${col}`)
          .unique()
          .on('recipients')
          .column(col)
          .where(sql.ref(col), 'is not', null)
          .execute();
      }
      if (dialectOf(db) === 'postgres') return;
      for (const t of ['recipients_fts_ad', 'recipients_fts_au']) await sql`DROP TRIGGER ${sql.id(t)}`.execute(db);
      await sql`INSERT INTO recipients_fts(rowid, email, name, number)
        SELECT id, email, name, number FROM recipients WHERE search_indexed = 0 ORDER BY id`.execute(db);
      await sql`DROP INDEX recipients_search_unindexed`.execute(db);
      await sql`ALTER TABLE recipients DROP COLUMN search_indexed`.execute(db);
      await sql`CREATE TABLE recipients_search_progress (id integer PRIMARY KEY CHECK (id = 1), indexed_to integer NOT NULL)`.execute(db);
      await sql`INSERT INTO recipients_search_progress (id, indexed_to) VALUES (1, COALESCE((SELECT MAX(id) FROM recipients), 0))`.execute(
        db,
      );
      // As in 1451, only for rows in recipients_fts (an FTS5 'delete' of a row never inserted corrupts it).
      const indexed = sql`old.id <= (SELECT indexed_to FROM recipients_search_progress)`;
      await sql`CREATE TRIGGER recipients_fts_ad AFTER DELETE ON recipients WHEN ${indexed} BEGIN
        INSERT INTO recipients_fts(recipients_fts, rowid, email, name, number) VALUES ('delete', old.id, old.email, old.name, old.number); END`.execute(
        db,
      );
      await sql`CREATE TRIGGER recipients_fts_au AFTER UPDATE OF email, name, number ON recipients WHEN ${indexed} BEGIN
        INSERT INTO recipients_fts(recipients_fts, rowid, email, name, number) VALUES ('delete', old.id, old.email, old.name, old.number);
        INSERT INTO recipients_fts(rowid, email, name, number) VALUES (new.id, new.email, new.name, new.number); END`.execute(db);
    },
  },
  /**
   * Issue 15: the start-up lookup of volunteers left at status 2-3 with no failure (claims.ts
   * re-enqueues their lost deliver jobs) scanned every recipient: 210 ms at 1,000,000, filling the
   * main connection's page cache (16 MB) in a service that then sat idle. A partial index of
   * exactly those rows (claims between submit and delivery: few) answers it. The query must spell
   * the condition in literals (recipients-repo.ts) for SQLite to use a partial index.
   */
  '1490_recipients_awaiting_delivery': {
    async up(db: Kysely<any>) {
      await sql`CREATE INDEX recipients_awaiting_delivery ON recipients (id) WHERE status IN (2, 3) AND failure IS NULL`.execute(db);
    },
  },
  /**
   * Clients where the admin token was right in the last 30 days (admin-token.ts): an attack from many
   * addresses that holds the admin identity's backoff at its longest no longer keeps the organizer
   * out on a client that signed in before.
   */
  '1500_admin_known_clients': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('admin_known_clients')
        .addColumn('client_key', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('last_ok_at', bigint(db), (c) => c.notNull())
        .execute();
    },
  },
  /**
   * getUserInfo's lookup by link token from one index (issue 15, "flat cost at 1,000,000"): the
   * token's row as the lookup reads it (recipients-repo.ts TOKEN_LOOKUP_SQL), so the lookup is one
   * B-tree descent instead of the unique token index's and then the table's. The table's leaf
   * pages were where a big campaign's lookups missed the CPU's caches: getUserInfo at 1,000,000
   * volunteers was 0.84-0.90 of its figure at 100,000 (bench/README.md, "a fourteenth pass").
   * Partial, as the unique index is: an imported volunteer has no link and no entry, so imports
   * pay nothing; each link costs one more entry (~124 bytes: 124 MB at 1,000,000 links, built in
   * ~2.4 s when such a database is upgraded), kept by SQLite with every write of its columns (a
   * claim's name and status, a failure). The unique index stays: it is what keeps a link to one
   * volunteer. The id is the table's rowid, which every SQLite index entry ends with.
   * SQLite only: on PostgreSQL a lookup reads the heap for its visibility anyway unless the page is
   * all-visible, which rows changed by claims and sending seldom are; its unique index serves it.
   */
  '1510_recipients_token_lookup_index': {
    async up(db: Kysely<any>) {
      if (dialectOf(db) === 'postgres') return;
      await sql`CREATE INDEX recipients_token_lookup ON recipients (token_hash, campaign_id, email, name, status, failure)
        WHERE token_hash IS NOT NULL`.execute(db);
    },
  },
};
