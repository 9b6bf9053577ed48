/**
 * Real databases for tests. SQLite: a file in a fresh temporary folder. PostgreSQL: a fresh
 * database per call on TEST_PG_URL (default the machine's local server), dropped on cleanup, so
 * test files run in parallel without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/platform/db/index.js';

export type TestDialect = 'sqlite' | 'postgres';

export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

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

/** Creates an empty database of the dialect; returns its config and a function that drops it. */
export async function createTestDatabase(
  dialect: TestDialect,
  dataDir: string,
): Promise<{ config: DatabaseConfig; drop(): Promise<void> }> {
  if (dialect === 'sqlite') {
    return { config: { dialect: 'sqlite', file: `${dataDir}/test.sqlite` }, drop: async () => {} };
  }
  const name = `vh_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    config: { dialect: 'postgres', url: withDatabase(PG_URL, name) },
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
