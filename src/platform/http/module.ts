/** What a module hands to the composition root. */
import type { FastifyInstance } from 'fastify';
import type { Command } from 'commander';
import type { Migration } from 'kysely';
import type { Core } from '../core.js';
import type { RouteGroups } from './origins.js';

export interface AppModule {
  name: string;
  /**
   * Its migrations, named `<number>_<what>` in the module's number range (see platform/db/migrate.ts);
   * the composition root hands them to the migrator, so platform code never imports a module.
   */
  migrations?: Record<string, Migration>;
  /** Its routes' CORS and cross-site groups, by path prefix (see platform/http/origins.ts). */
  routeGroups?: RouteGroups;
  /** Registers routes (inside its own encapsulated context, with its own envelope) and job handlers. */
  register(app: FastifyInstance, core: Core): Promise<void>;
  /** Adds operator CLI commands; `core()` opens the core on first use. */
  cli?(program: Command, core: () => Promise<Core>): void;
}
