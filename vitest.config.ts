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
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts'], globalSetup: ['test/helpers/global-setup.ts'] } },
    ],
  },
});
