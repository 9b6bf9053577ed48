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
      await db
        .insertInto('campaigns')
        .values({ slug: 'default', name: 'Default campaign', created_at: now, updated_at: now })
        .execute();
    },
  },
};
