/**
 * Real databases for tests. SQLite: a file in a fresh temporary folder. PostgreSQL: a fresh
 * database per call on TEST_PG_URL (default the machine's local server), dropped on cleanup, so
 * test files run in parallel without seeing each other's rows.
 *
 * `createTestDatabase` gives an empty database (for tests of the migrations themselves and of a
 * first start). `createMigratedTestDatabase` gives one with every module's migrations already
 * applied: a copy of a template that the integration tier's global setup migrated once for the
 * run (test/helpers/global-setup.ts; SQLite: a file copy, PostgreSQL: CREATE DATABASE ...
 * TEMPLATE), instead of running the ~30 migrations again for every app a test boots.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync } from 'node:fs';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/platform/db/index.js';
import { createPrivateFile } from '../../src/platform/db/private-file.js';

export type TestDialect = 'sqlite' | 'postgres';

export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Where global-setup.ts tells the test workers about the run's migrated templates (inherited environment). */
export const TEMPLATE_ENV = { sqlite: 'VH_TEST_TEMPLATE_SQLITE', postgres: 'VH_TEST_TEMPLATE_PG' } as const;

/**
 * The dialects data-layer tests run on: both by default. TEST_DIALECTS=sqlite (or postgres)
 * narrows it, e.g. for a quick local run.
 */
export function testDialects(): TestDialect[] {
  const want = (process.env.TEST_DIALECTS ?? 'sqlite,postgres').split(',').map((s) => s.trim());
  return (['sqlite', 'postgres'] as const).filter((d) => want.includes(d));
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function onAdmin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

/** A name for a new PostgreSQL test database. */
export function newPgDatabaseName(prefix = 'vh_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export function pgDatabaseUrl(name: string): string {
  return withDatabase(PG_URL, name);
}

export async function dropPgDatabase(name: string): Promise<void> {
  await onAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

async function newPgDatabase(template?: string): Promise<{ config: DatabaseConfig; drop(): Promise<void> }> {
  const name = newPgDatabaseName();
  await onAdmin((c) => c.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`));
  return { config: { dialect: 'postgres', url: withDatabase(PG_URL, name) }, drop: () => dropPgDatabase(name) };
}

/** Creates an empty database of the dialect; returns its config and a function that drops it. */
export async function createTestDatabase(
  dialect: TestDialect,
  dataDir: string,
): Promise<{ config: DatabaseConfig; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    return { config: { dialect: 'sqlite', file: `${dataDir}/test.sqlite` }, drop: async () => {} };
  }
  return newPgDatabase();
}

/**
 * A database of the dialect with every module's migrations applied (what the app would have made
 * of an empty one at its first start), copied from the run's template. Without a template (a
 * helper used outside the integration tier) it is an empty database, which the app migrates.
 */
export async function createMigratedTestDatabase(
  dialect: TestDialect,
  dataDir: string,
): Promise<{ config: DatabaseConfig; drop(): Promise<void> }> {
  const template = process.env[TEMPLATE_ENV[dialect]];
  if (!template) return createTestDatabase(dialect, dataDir);
  if (dialect === 'sqlite') {
    const file = `${dataDir}/test.sqlite`;
    // The same 0600 file the app would create; the template was closed cleanly (no -wal to copy).
    createPrivateFile(file);
    copyFileSync(template, file);
    return { config: { dialect: 'sqlite', file }, drop: async () => {} };
  }
  return newPgDatabase(template);
}
