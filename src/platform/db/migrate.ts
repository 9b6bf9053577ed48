/**
 * Runs the platform's migrations and those the composition root hands in (each module declares
 * its own through its `AppModule`; platform code never imports a module), in name order. Names
 * carry a module prefix with a number range (platform 0xxx, certificates 1xxx, accounts 2xxx,
 * miniprogram 3xxx, autoreply 4xxx), so modules add migrations without touching each other's
 * files. Unordered migrations are allowed because modules grow independently; each migration must
 * therefore depend only on its own module's tables and the platform's.
 */
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { DB } from './index.js';
import { platformMigrations } from './migrations/platform.js';

/** Whatever declares migrations: an `AppModule`, or a test's own set. */
export interface MigrationSource {
  name: string;
  migrations?: Record<string, Migration>;
}

/** The platform's migrations and each source's, by name; a name declared twice is a programming error. */
export function collectMigrations(sources: readonly MigrationSource[]): Record<string, Migration> {
  const all: Record<string, Migration> = { ...platformMigrations };
  const owner = new Map<string, string>(Object.keys(platformMigrations).map((n) => [n, 'platform']));
  for (const s of sources) {
    for (const [name, m] of Object.entries(s.migrations ?? {})) {
      const prev = owner.get(name);
      if (prev) throw new Error(`migration ${name} is declared by both ${prev} and ${s.name}`);
      owner.set(name, s.name);
      all[name] = m;
    }
  }
  return all;
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/**
 * Brings the schema up to date (the platform's tables and the given sources'); throws with the
 * failing migration's name. With no sources, only the platform's tables (jobs, mail, limits).
 */
export async function migrateToLatest(db: DB, sources: readonly MigrationSource[] = []): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider(collectMigrations(sources)), allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const e = new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? error}`);
    (e as Error & { cause?: unknown }).cause = error;
    throw e;
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
