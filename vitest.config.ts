import { defineConfig } from 'vitest/config';

/**
 * Two tiers (CONTRIBUTING.md, "Tests"):
 * - `unit`: `src/**\/*.test.ts`, beside the code: pure functions, no servers, no database; seconds.
 * - `integration`: `test/**\/*.test.ts`: the real app on SQLite and PostgreSQL, SMTP on loopback,
 *   fake WeChat servers, Chromium.
 * `npm test` runs both; `npm run test:unit` / `npm run test:integration` one tier.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: keep parallelism modest so timing-sensitive real servers (SMTP, browsers) stay responsive.
    maxWorkers: 3,
    // A worker runs file after file in one module graph instead of a fresh process per file: the
    // app and its packages (Fastify, Kysely, zod, playwright-core, ...) are imported once per worker,
    // not once per file. Vitest's import time summed over the suite's 111 files: 519 s with a
    // process per file, 106 s shared (2026-12-02, loads 15 and 20 from other work on the machine).
    // Test files therefore leave no process-wide state behind (CONTRIBUTING.md, "Running the checks").
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], globalSetup: ['test/helpers/global-setup.ts'] } },
    ],
  },
});
