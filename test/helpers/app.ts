/**
 * Boots the real app on a real database for a test: `await startTestApp({ dialect })` gives the
 * core, the Fastify app (use `app.inject` or `listen`), and `close()` that tears everything down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseConfig, type Config } from '../../src/config.js';
import type { Core } from '../../src/platform/core.js';
import type { Logger } from '../../src/platform/logger.js';
import { buildApp, createAppCore } from '../../src/app.js';
import { createMigratedTestDatabase, type TestDialect } from './db.js';

export interface TestApp {
  core: Core;
  app: FastifyInstance;
  config: Config;
  dataDir: string;
  /** Listens on an ephemeral loopback port and returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  dialect?: TestDialect;
  /** Extra environment (SMTP_URL, WECHAT_API_BASE, ...). */
  env?: Record<string, string>;
  /** Start the job runner (default true). */
  startJobs?: boolean;
  now?: () => number;
  /**
   * Use this database (e.g. another TestApp's `config.database`) instead of a fresh one; it is not
   * dropped on close. Without it the app gets a fresh copy of the run's migrated template (db.ts).
   */
  database?: Config['database'];
  /** Log into this logger instead of one built from LOG_LEVEL (tests that read the log lines). */
  logger?: Logger;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-test-'));
  const database = opts.database
    ? { config: opts.database, drop: async () => {} }
    : await createMigratedTestDatabase(opts.dialect ?? 'sqlite', dataDir);
  const config = parseConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    ADMIN_TOKEN: 'test-admin-token',
    DATABASE_URL: database.config.dialect === 'postgres' ? database.config.url : database.config.file,
    ...opts.env,
  });
  const core = await createAppCore(config, { now: opts.now, logger: opts.logger });
  const app = await buildApp(core);
  await app.ready();
  if (opts.startJobs !== false) await core.jobs.start();
  let url: string | undefined;
  return {
    core,
    app,
    config,
    dataDir,
    async listen() {
      if (!url) {
        await app.listen({ port: 0, host: '127.0.0.1' });
        const addr = app.server.address();
        url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      }
      return url;
    },
    async close() {
      await app.close();
      await core.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
