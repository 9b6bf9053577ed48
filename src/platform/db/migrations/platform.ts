/** Platform tables: settings (key/value, secrets encrypted), durable jobs, dev mailbox, attempt counters. */
import { sql, type Kysely, type Migration } from 'kysely';
import { bigint, blob, withId } from '../columns.js';
import { dialectOf } from '../index.js';

export const platformMigrations: Record<string, Migration> = {
  '0001_platform_settings': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'varchar(200)', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', bigint(db), (c) => c.notNull())
        .execute();
    },
  },
  '0002_platform_jobs': {
    async up(db: Kysely<any>) {
      await withId(db, db.schema.createTable('jobs'))
        .addColumn('kind', 'varchar(100)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'varchar(20)', (c) => c.notNull().defaultTo('queued'))
        .addColumn('singleton_key', 'varchar(300)')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(10))
        .addColumn('run_at', bigint(db), (c) => c.notNull())
        .addColumn('locked_until', bigint(db))
        .addColumn('last_error', 'text')
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .addColumn('updated_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_due').on('jobs').columns(['state', 'run_at']).execute();
      // At most one live job per singleton key: enqueueing the same work twice is a no-op.
      await sql`CREATE UNIQUE INDEX jobs_singleton ON jobs (singleton_key) WHERE singleton_key IS NOT NULL AND state IN ('queued', 'running')`.execute(
        db,
      );
    },
  },
  '0003_platform_mailbox': {
    async up(db: Kysely<any>) {
      await withId(db, db.schema.createTable('dev_mailbox'))
        .addColumn('message_id', 'varchar(300)', (c) => c.notNull())
        .addColumn('to_addr', 'text', (c) => c.notNull())
        .addColumn('from_addr', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('raw', blob(db), (c) => c.notNull())
        .addColumn('created_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dev_mailbox_created').on('dev_mailbox').column('created_at').execute();
    },
  },
  '0004_platform_jobs_claim_and_mail_quota': {
    async up(db: Kysely<any>) {
      // Which runner holds a lease, so a runner that lost its lease (released on stop, or expired)
      // cannot finish or fail a job another runner has claimed since.
      await db.schema.alterTable('jobs').addColumn('locked_by', 'varchar(64)').execute();
      // Claims are per kind: (kind, state, run_at) serves "due jobs of this kind, oldest first".
      await db.schema.createIndex('jobs_claim').on('jobs').columns(['kind', 'state', 'run_at']).execute();
      // Durable mail quota: sends per key per one-minute bucket; a rolling 24 h window sums at most
      // 1,440 rows per key. Key '*' is the global quota (MAIL_DAILY_LIMIT), others are per sender.
      await db.schema
        .createTable('mail_quota')
        .addColumn('key', 'varchar(200)', (c) => c.notNull())
        .addColumn('bucket', bigint(db), (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('mail_quota_pk', ['key', 'bucket'])
        .execute();
    },
  },
  '0005_platform_attempt_counters': {
    async up(db: Kysely<any>) {
      // Attempt limits shared by every instance (platform/limits/attempts.ts): one row per key.
      await db.schema
        .createTable('attempt_counters')
        .addColumn('key', 'varchar(300)', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('reset_at', bigint(db), (c) => c.notNull())
        .addColumn('next_at', bigint(db), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('attempt_counters_reset').on('attempt_counters').column('reset_at').execute();
    },
  },
  '0006_platform_fleet_jobs_and_pace': {
    async up(db: Kysely<any>) {
      // Jobs moved from pg-boss to our own `jobs` table on PostgreSQL too (platform/jobs/README.md).
      // Jobs pg-boss still held (queued, retrying or running when the old version stopped) are
      // copied once, with their payload (pg-boss kept it as {p: payload}); its tables are then left
      // alone, for the operator to drop when they like.
      if (dialectOf(db) === 'postgres') {
        const found = await sql<{
          n: number;
        }>`select count(*)::int as n from information_schema.tables where table_schema = 'pgboss' and table_name = 'job'`.execute(db);
        if (Number(found.rows[0]?.n ?? 0) > 0) {
          await sql`
            insert into jobs (kind, payload, state, singleton_key, attempts, max_attempts, run_at, created_at, updated_at)
            select name, coalesce((data -> 'p')::text, 'null'), 'queued', singleton_key,
                   least(retry_count, retry_limit), retry_limit + 1,
                   (extract(epoch from start_after) * 1000)::bigint,
                   (extract(epoch from created_on) * 1000)::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint
            from pgboss.job
            where state::text in ('created', 'retry', 'active')
            on conflict do nothing`.execute(db);
        }
      }
      // The fleet's mail pace (platform/mail/pacing.ts): per key, the theoretical arrival time of
      // the next send (GCRA), in milliseconds by the database's clock.
      await db.schema
        .createTable('mail_pace')
        .addColumn('key', 'varchar(200)', (c) => c.primaryKey())
        .addColumn('tat', 'double precision', (c) => c.notNull())
        .execute();
    },
  },
};
