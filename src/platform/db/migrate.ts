/**
 * Runs every module's migrations in name order. Names carry a module prefix with a number range
 * (platform 0xxx, certificates 1xxx, accounts 2xxx, miniprogram 3xxx, autoreply 4xxx), so modules
 * add migrations without touching each other's files. Unordered migrations are allowed because
 * modules grow independently; each migration must therefore depend only on its own module's tables
 * and the platform's.
 */
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { DB } from './index.js';
import { platformMigrations } from './migrations/platform.js';
import { migrations as certificates } from '../../modules/certificates/migrations.js';
import { migrations as accounts } from '../../modules/accounts/migrations.js';
import { migrations as miniprogram } from '../../modules/miniprogram/migrations.js';
import { migrations as autoreply } from '../../modules/autoreply/migrations.js';

export const allMigrations: Record<string, Migration> = {
  ...platformMigrations,
  ...certificates,
  ...accounts,
  ...miniprogram,
  ...autoreply,
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return allMigrations;
  }
}

/** Brings the schema up to date; throws with the failing migration's name. */
export async function migrateToLatest(db: DB): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider(), allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const e = new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? error}`);
    (e as Error & { cause?: unknown }).cause = error;
    throw e;
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
