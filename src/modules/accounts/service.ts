/**
 * The accounts service other modules may use (e.g. auto-reply's members): one `users` table for a
 * member whichever way they came in, and bearer sessions stored by hash. Signatures here are kept
 * stable; rules that only the accounts API needs (activation, recovery, addresses) live elsewhere.
 *
 *   const accounts = createAccountsService({ db: core.db, dialect: core.dialect, now: core.now });
 *   const user = await accounts.createUser({ username, password, isActive: true });
 *   const { token } = await accounts.createSession(user.id, 'autoreply');
 *   const s = await accounts.resolveSession(token, 'autoreply'); // -> { user, sessionId } | null
 */
import type { SqliteFast } from '../../platform/db/sqlite-fast.js';
import type { DB, Dialect, Executor } from '../../platform/db/index.js';
import { isUniqueViolation } from '../../platform/db/index.js';
import { dummyPasswordHash } from '../../platform/crypto/passwords.js';
import { hashInSlot as hashPassword, verifyInSlot as verifyHash } from './hash-slots.js';
import { hashToken, randomToken } from '../../platform/crypto/tokens.js';
import { createUsersRepo, type UserRow } from './users-repo.js';
import { normalizeEmail } from '../../platform/text/email.js';

/** A member as other modules see it (never the password hash). */
export interface Member {
  id: number;
  username: string;
  email: string | null;
  isActive: boolean;
  hasPassword: boolean;
  createdAt: number;
}

export interface ResolvedSession {
  user: Member;
  sessionId: number;
  kind: string;
  expiresAt: number;
}

/** Thrown by createUser when the username or the email is taken. */
export class DuplicateUserError extends Error {
  constructor(readonly field: 'username' | 'email') {
    super(`${field} already registered`);
    this.name = 'DuplicateUserError';
  }
}

/**
 * A registration never activated expires once its newest activation link has (24 hours after it
 * was sent), and in any case 7 days after registering: its username and email are free again, so
 * nobody can hold someone else's name or address by registering it and never opening the mail.
 */
export const INACTIVE_MAX_AGE_MS = 7 * 24 * 3600_000;

/** Default session lifetime: 30 days from creation (absolute; log in again after). */
export const SESSION_TTL_MS = 30 * 24 * 3600_000;
/** last_seen_at is written at most this often per session, so authenticated reads stay reads. */
const TOUCH_EVERY_MS = 5 * 60_000;

export interface AccountsServiceDeps {
  db: DB;
  dialect: Dialect;
  now: () => number;
  /** Optional: the handle's fast path (platform/db/sqlite-fast.ts), for the per-request session lookup. */
  fast?: SqliteFast;
}

/** The platform's one normalisation (trim, lower-case), re-exported for the module's callers. */
export { normalizeEmail };

export function toMember(u: Pick<UserRow, 'id' | 'username' | 'email' | 'is_active' | 'password_hash' | 'created_at'>): Member {
  return {
    id: Number(u.id),
    username: u.username,
    email: u.email,
    isActive: u.is_active === 1,
    hasPassword: u.password_hash !== null,
    createdAt: Number(u.created_at),
  };
}

/** Builds the shared accounts service. */
export function createAccountsService(deps: AccountsServiceDeps) {
  const repo = createUsersRepo(deps.db, deps.fast);
  const { now } = deps;

  return {
    /**
     * Creates a member. `password` is hashed with argon2id here (the caller checks the password
     * policy first: see password-policy.ts). Throws DuplicateUserError on a taken username/email.
     */
    async createUser(
      input: { username: string; email?: string | null; password?: string | null; isActive?: boolean },
      opts: { trx?: Executor } = {},
    ): Promise<Member> {
      const hash = input.password ? await hashPassword(input.password) : null;
      const email = input.email ? normalizeEmail(input.email) : null;
      try {
        // An expired registration never activated does not hold the name or the address.
        await repo.deleteExpiredInactive(now(), INACTIVE_MAX_AGE_MS, { username: input.username, email: email ?? '' }, opts.trx);
        const row = await repo.insertUser(
          { username: input.username, email, password_hash: hash, is_active: input.isActive ? 1 : 0 },
          now(),
          opts.trx,
        );
        return toMember(row);
      } catch (err) {
        if (isUniqueViolation(err)) {
          const msg = String((err as Error).message ?? '');
          throw new DuplicateUserError(/email/i.test(msg) ? 'email' : 'username');
        }
        throw err;
      }
    },

    async findById(id: number, ex?: Executor): Promise<Member | undefined> {
      const u = await repo.byId(id, ex);
      return u && toMember(u);
    },
    async findByUsername(username: string, ex?: Executor): Promise<Member | undefined> {
      const u = await repo.byUsername(username, ex);
      return u && toMember(u);
    },
    async findByEmail(email: string, ex?: Executor): Promise<Member | undefined> {
      const u = await repo.byEmail(normalizeEmail(email), ex);
      return u && toMember(u);
    },

    /**
     * Checks a password by username or email (an `@` means email). Unknown members, and members
     * without a password, are verified against a dummy hash so the time taken does not reveal
     * whether the account exists. Returns the member on success, else null. Not limited and blind
     * to activation: a sign-in goes through `createSignIn` (sign-in.ts), the one door.
     */
    async verifyPassword(login: string, password: string): Promise<Member | null> {
      const u = login.includes('@') ? await repo.byEmail(normalizeEmail(login)) : await repo.byUsername(login);
      const stored = u?.password_hash ?? (await dummyPasswordHash());
      const ok = await verifyHash(stored, password);
      return ok && u && u.password_hash ? toMember(u) : null;
    },

    /** Replaces a member's password (hashes it); revoking sessions is the caller's choice. */
    async setPassword(userId: number, password: string, opts: { trx?: Executor } = {}): Promise<void> {
      await repo.setPasswordHash(userId, await hashPassword(password), now(), opts.trx);
    },

    /** Issues a bearer token (256 random bits); only its SHA-256 is stored. */
    async createSession(
      userId: number,
      kind = 'web',
      opts: { ttlMs?: number; trx?: Executor } = {},
    ): Promise<{ token: string; expiresAt: number }> {
      const token = randomToken();
      const t = now();
      const expiresAt = t + (opts.ttlMs ?? SESSION_TTL_MS);
      await repo.insertSession({ token_hash: hashToken(token), user_id: userId, kind, expires_at: expiresAt }, t, opts.trx);
      return { token, expiresAt };
    },

    /**
     * The live session behind a token (of `kind` when given), with its member; null when the
     * token is unknown, expired or of another kind. One indexed query (plus a rare touch).
     */
    async resolveSession(token: string, kind?: string): Promise<ResolvedSession | null> {
      if (!token || token.length > 200) return null;
      const row = await repo.sessionWithUser(hashToken(token));
      const t = now();
      if (!row || row.expires_at <= t || (kind !== undefined && row.kind !== kind)) return null;
      if (t - row.last_seen_at > TOUCH_EVERY_MS) await repo.touchSession(row.session_id, t);
      return { user: toMember(row), sessionId: Number(row.session_id), kind: row.kind, expiresAt: Number(row.expires_at) };
    },

    /** Revokes one session by its token (logout). Returns whether it existed. */
    async revokeSession(token: string): Promise<boolean> {
      return (await repo.deleteSessionByHash(hashToken(token))) > 0;
    },

    /** Revokes a member's sessions (of one kind, when given), keeping `exceptSessionId`. Returns how many. */
    async revokeSessions(userId: number, opts: { kind?: string; exceptSessionId?: number; trx?: Executor } = {}): Promise<number> {
      return repo.deleteSessionsOfUser(userId, { kind: opts.kind, exceptId: opts.exceptSessionId }, opts.trx);
    },

    /** Housekeeping: deletes expired sessions. */
    async purgeExpiredSessions(): Promise<number> {
      return repo.deleteExpiredSessions(now());
    },
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;
