/** The accounts module: see README.md in this folder for its API and invariants. */
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../platform/core.js';
import type { AppModule } from '../../platform/http/module.js';
import { migrations } from './migrations.js';
import { createAttemptLimiter } from '../../platform/limits/attempts.js';
import { loadSecretKey } from '../../platform/crypto/secretbox.js';
import { createFlows, INACTIVE_MAX_AGE_MS } from './flows.js';
import { createUsersRepo } from './users-repo.js';
import { createCodesRepo } from './codes-repo.js';
import { createRecovery } from './recovery.js';
import { createAddressService } from './addresses.js';
import { installAccountsHttp } from './http.js';
import { registerUserRoutes } from './routes-users.js';
import { registerAddressRoutes } from './routes-addresses.js';
import { sqliteFast } from '../../platform/db/sqlite-fast.js';

export { createAccountsService, DuplicateUserError, normalizeEmail, SESSION_TTL_MS } from './service.js';
export type { AccountsService, Member, ResolvedSession } from './service.js';
export { passwordProblem } from './password-policy.js';
export { createSignIn, SIGN_IN_LIMITS } from './sign-in.js';
export type { SignIn, SignInResult } from './sign-in.js';

const MIN = 60_000;

/** Registers the accounts routes in one encapsulated plugin with the seed's envelope. */
export async function registerAccounts(app: FastifyInstance, core: Core): Promise<void> {
  const now = core.now;
  // SQLite: hot reads on the shared read-only connection (platform/db/sqlite-fast.ts).
  const fast = sqliteFast(core.handle);
  const limiter = createAttemptLimiter({ db: core.db, now });
  const base = { db: core.db, dialect: core.dialect, now, mailer: core.mailer, publicUrl: core.config.publicUrl };
  const flows = createFlows({
    ...base,
    fast,
    limiter,
  });
  const codeKey = createHmac('sha256', loadSecretKey(core.config.dataDir, core.config.secretKey))
    .update('accounts recovery codes')
    .digest();
  const recovery = createRecovery({ ...base, codeKey, limiter });
  const addresses = createAddressService({ db: core.db, dialect: core.dialect, now, fast });

  // Housekeeping: expired sessions, registrations never activated that expired, and codes a day
  // past their expiry, are deleted hourly (any instance may do it; the deletes are idempotent).
  const codes = createCodesRepo(core.db);
  const users = createUsersRepo(core.db);
  const sweep = async () => {
    try {
      await flows.accounts.purgeExpiredSessions();
      await users.deleteExpiredInactive(now(), INACTIVE_MAX_AGE_MS);
      await codes.deleteExpired(now() - 24 * 60 * MIN);
    } catch (err) {
      core.logger.warn({ err }, 'accounts: housekeeping failed');
    }
  };
  const timer = setInterval(() => void sweep(), 60 * MIN);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  await app.register(async (scope) => {
    installAccountsHttp(scope);
    registerUserRoutes(scope, { flows, recovery, logger: core.logger });
    registerAddressRoutes(scope, { accounts: flows.accounts, addresses });
  });
}

export const accountsModule: AppModule = {
  name: 'accounts',
  migrations,
  // Bearer tokens in a header: nothing a page elsewhere could borrow.
  routeGroups: { token: ['/v1/'] },
  register: registerAccounts,
};
