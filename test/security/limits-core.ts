/**
 * The limiter tests' set-up: the app's core (its database handle, migrated from the run's
 * template) for one dialect, made before the describe's tests and closed after them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createMigratedTestDatabase, type TestDialect } from '../helpers/db.js';
import { parseConfig } from '../../src/config.js';
import { createAppCore } from '../../src/app.js';
import type { Core } from '../../src/platform/core.js';

export function limitsCore(dialect: TestDialect): { readonly core: Core } {
  const t = {} as { core: Core };
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vh-limits-'));
    const database = await createMigratedTestDatabase(dialect, dir);
    drop = database.drop;
    const url = database.config.dialect === 'postgres' ? database.config.url : database.config.file;
    t.core = await createAppCore(parseConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', PORT: '0', DATABASE_URL: url }));
  });
  afterAll(async () => {
    await t.core?.close();
    await drop?.();
  });
  return t;
}
