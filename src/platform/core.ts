/**
 * The shared core every module stands on: configuration, database, job queue, mail, secrets,
 * logger, clock. Built once per process by `createCore`; the HTTP app, the worker and the CLI
 * all use it.
 */
import type { Config } from '../config.js';
import { openDatabase, type DatabaseHandle, type DB, type Dialect } from './db/index.js';
import { migrateToLatest, type MigrationSource } from './db/migrate.js';
import { STARTUP_LOCK, withAdvisoryLock } from './db/lock.js';
import { createJobQueue } from './jobs/index.js';
import type { JobQueue } from './jobs/types.js';
import { createMailer } from './mail/index.js';
import type { Mailer } from './mail/types.js';
import { createLogger, type Logger } from './logger.js';
import { createSecretBox, loadSecretKey, type SecretBox } from './crypto/secretbox.js';

export interface Core {
  config: Config;
  handle: DatabaseHandle;
  db: DB;
  dialect: Dialect;
  jobs: JobQueue;
  mailer: Mailer;
  secrets: SecretBox;
  logger: Logger;
  /** Milliseconds since the epoch; tests may pass their own. */
  now: () => number;
  close(): Promise<void>;
}

export interface CoreOptions {
  /** Whose migrations to run beside the platform's: the composition root passes the app's modules (app.ts `createAppCore`). */
  modules: readonly MigrationSource[];
  logger?: Logger;
  now?: () => number;
}

/** Opens the database, brings the schema up to date, and builds the shared services. */
export async function createCore(config: Config, opts: CoreOptions): Promise<Core> {
  const logger = opts.logger ?? createLogger(config.logLevel, config.logFormat);
  const handle = openDatabase(config.database, {
    onConnectionError: (err) =>
      logger.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'database connection lost'),
  });
  try {
    // Several instances starting together on an empty database take turns (issue 11.5).
    await withAdvisoryLock(
      handle,
      STARTUP_LOCK,
      () => migrateToLatest(handle.db, opts.modules),
      () => logger.info('another instance is migrating the database: waiting for it'),
    );
  } catch (err) {
    await handle.close();
    throw err;
  }
  const now = opts.now ?? Date.now;
  const secrets = createSecretBox(loadSecretKey(config.dataDir, config.secretKey));
  const jobs = createJobQueue(handle, { logger, concurrency: config.jobConcurrency, leaseMs: config.jobLeaseMs });
  const mailer = createMailer({ config, handle, jobs, logger, secrets, now });
  let closed = false;
  return {
    config,
    handle,
    db: handle.db,
    dialect: handle.dialect,
    jobs,
    mailer,
    secrets,
    logger,
    now,
    async close() {
      if (closed) return;
      closed = true;
      // Order matters: jobs finish (or are released) while mail and the database still work.
      await jobs.stop();
      await mailer.close();
      await handle.close();
    },
  };
}
