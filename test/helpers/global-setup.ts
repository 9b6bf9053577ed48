/**
 * Once per run of the integration tier:
 * - checks that the PostgreSQL server the tests use is reachable, and says how to start it if
 *   not (data-layer tests run on SQLite and PostgreSQL; TEST_DIALECTS=sqlite runs SQLite only);
 * - migrates one template database per dialect, which `createMigratedTestDatabase` (db.ts) copies
 *   for each app a test boots, instead of running every migration again each time. Made afresh
 *   for every run (a migration a branch changed is always in it), removed at the end;
 * - compiles the service for the tests that start it in a child process (server-build.ts), once,
 *   before any worker could start two builds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { modules } from '../../src/app.js';
import { openDatabase, type DatabaseConfig } from '../../src/platform/db/index.js';
import { migrateToLatest } from '../../src/platform/db/migrate.js';
import { dropPgDatabase, newPgDatabaseName, PG_URL, pgDatabaseUrl, TEMPLATE_ENV, testDialects } from './db.js';
import { serverEntry } from './server-build.js';

async function migrate(config: DatabaseConfig): Promise<void> {
  const handle = openDatabase(config);
  try {
    await migrateToLatest(handle.db, modules);
  } finally {
    // Closed before any copy: PostgreSQL copies a template only while nobody is connected to it,
    // and a closed SQLite file has its write-ahead log folded in.
    await handle.close();
  }
}

async function sqliteTemplate(): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'vh-template-'));
  const file = join(dir, 'template.sqlite');
  await migrate({ dialect: 'sqlite', file });
  process.env[TEMPLATE_ENV.sqlite] = file;
  return async () => rmSync(dir, { recursive: true, force: true });
}

async function pgTemplate(): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 15_000 }); // a stopped server refuses at once; a loaded machine may take seconds to accept
  try {
    await c.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${PG_URL} (${(err as Error).message}).\n` +
        `Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), ` +
        `point TEST_PG_URL at another server, or run SQLite only with TEST_DIALECTS=sqlite.`,
      { cause: err },
    );
  }
  const name = newPgDatabaseName('vh_template');
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  try {
    await migrate({ dialect: 'postgres', url: pgDatabaseUrl(name) });
  } catch (err) {
    await dropPgDatabase(name);
    throw err;
  }
  process.env[TEMPLATE_ENV.postgres] = name;
  return () => dropPgDatabase(name);
}

export default async function setup(): Promise<() => Promise<void>> {
  const dialects = testDialects();
  serverEntry();
  const teardowns = await Promise.all([
    dialects.includes('sqlite') ? sqliteTemplate() : async () => {},
    dialects.includes('postgres') ? pgTemplate() : async () => {},
  ]);
  return async () => {
    for (const t of teardowns) await t();
  };
}
