/**
 * Registration, activation, login/logout and password change: the use cases behind the
 * `/v1/users` and `/v1/tokens` routes. Every state change and the mail that follows it commit in
 * one transaction (mailer.enqueue with `trx`); argon2id hashing happens before a transaction
 * opens, never inside one, so it holds no database connection or lock while it runs.
 */
import type { SqliteFast } from '../../platform/db/sqlite-fast.js';
import type { DB, Dialect } from '../../platform/db/index.js';
import type { Mailer } from '../../platform/mail/types.js';
import { isUniqueViolation } from '../../platform/db/index.js';
import { hashInSlot as hashPassword } from './hash-slots.js';
import { hashToken, randomToken } from '../../platform/crypto/tokens.js';
import { clientKey, windowRule, type AttemptLimiter, type LimitRule } from '../../platform/limits/attempts.js';
import { createAccountsService, INACTIVE_MAX_AGE_MS, normalizeEmail, type Member } from './service.js';
import { createSignIn } from './sign-in.js';
import { createUsersRepo } from './users-repo.js';
import { createCodesRepo } from './codes-repo.js';
import { C, fail } from './errors.js';
import { passwordProblem } from './password-policy.js';
import { activationMail, passwordChangedMail, type Lang, type RenderedMail } from './mail-templates.js';

export const ACTIVATION_TTL_MS = 24 * 3600_000;
export { INACTIVE_MAX_AGE_MS } from './service.js';
/** A base64url 256-bit token: 43 characters. Anything else is a malformed link (10113). */
export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

const MIN = 60_000;
/** Limits of these flows (sign-in limits: sign-in.ts), kept in the database for the whole fleet. */
export const FLOW_LIMITS = {
  registerPerClient: { limit: 20, windowMs: 60 * MIN },
  resendPerTarget: { limit: 5, windowMs: 15 * MIN },
  resendPerClient: { limit: 20, windowMs: 15 * MIN },
} as const;

export interface FlowDeps {
  db: DB;
  dialect: Dialect;
  now: () => number;
  mailer: Pick<Mailer, 'enqueue'>;
  publicUrl: string;
  limiter: AttemptLimiter;
  fast?: SqliteFast;
}

/** Builds an OutgoingMail with a Message-ID derived from what it is for. */
export function mailTo(publicUrl: string, to: string, purpose: string, m: RenderedMail) {
  const host = new URL(publicUrl).hostname || 'localhost';
  return { to, subject: m.subject, html: m.html, text: m.text, messageId: `<accounts.${purpose}@${host}>` };
}

function tooMany(ms: number) {
  return fail(C.TOO_MANY, `too many attempts; try again in ${Math.ceil(ms / 1000)} s`, { retry_after: Math.ceil(ms / 1000) });
}

export function createFlows(deps: FlowDeps) {
  const { db, dialect, now, mailer, publicUrl, limiter } = deps;
  const signIn = createSignIn({ db, now, limiter });

  async function limit(...rules: LimitRule[]): Promise<void> {
    const r = await limiter.reserve(rules);
    if (!r.ok) throw tooMany(r.retryAfterMs);
  }
  const accounts = createAccountsService({ db, dialect, now, fast: deps.fast });
  const users = createUsersRepo(db);
  const codes = createCodesRepo(db);

  /** Writes a fresh activation link for a user and enqueues its mail, in `trx`. */
  async function issueActivation(
    user: { id: number; username: string; email: string },
    lang: Lang,
    trx: Parameters<typeof codes.insert>[2],
  ) {
    const code = randomToken();
    const t = now();
    const id = await codes.insert(
      { purpose: 'activation', user_id: user.id, email: user.email, code_hash: hashToken(code), expires_at: t + ACTIVATION_TTL_MS },
      t,
      trx,
    );
    const link = `${publicUrl}/accounts/active?code=${code}`;
    await mailer.enqueue(mailTo(publicUrl, user.email, `activation.${id}`, activationMail({ username: user.username, link, lang })), {
      trx,
    });
  }

  return {
    accounts,

    /** POST /v1/users: an inactive account, an activation mail, and a session token. */
    async register(input: { username: string; email: string; password1: string; password2: string }, ip: string, lang: Lang) {
      await limit(
        windowRule(`register:client:${clientKey(ip)}`, FLOW_LIMITS.registerPerClient.limit, FLOW_LIMITS.registerPerClient.windowMs),
      );
      if (input.password1 !== input.password2) throw fail(C.PASSWORDS_DIFFER, 'the two passwords differ');
      const email = normalizeEmail(input.email);
      const problem = await passwordProblem(input.password1, input.username, email);
      if (problem) throw fail(C.INVALID_PASSWORD, problem.message, { reason: problem.reason });
      const hash = await hashPassword(input.password1);
      try {
        return await db.transaction().execute(async (trx) => {
          await users.deleteExpiredInactive(now(), INACTIVE_MAX_AGE_MS, { username: input.username, email }, trx);
          const user = await users.insertUser({ username: input.username, email, password_hash: hash, is_active: 0 }, now(), trx);
          await issueActivation({ id: Number(user.id), username: user.username, email }, lang, trx);
          const s = await accounts.createSession(Number(user.id), 'web', { trx });
          return { username: user.username, token: s.token };
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          if (/email/i.test(String((err as Error).message))) throw fail(C.BAD_EMAIL, 'this email is already registered');
          throw fail(C.BAD_USERNAME, 'this username is taken');
        }
        throw err;
      }
    },

    /**
     * GET /v1/users/activation?code=: single use, 24 hours. A link of an account that is already
     * active (this link used before, or another one, or a password reset) answers
     * `already_active`: the person is told to log in, not that the link "expired". Only the
     * holder of the link learns it (the code is 256 random bits), so this reveals nothing.
     */
    async activate(code: string): Promise<'activated' | 'already_active'> {
      if (!TOKEN_RE.test(code)) throw fail(C.LINK_MALFORMED, 'the activation link is malformed');
      const row = await codes.byHash('activation', hashToken(code));
      const t = now();
      if (row && row.user_id !== null && (row.used_at !== null || row.expires_at <= t)) {
        const user = await users.byId(Number(row.user_id));
        if (user?.is_active === 1) return 'already_active';
      }
      if (!row || row.used_at !== null || row.expires_at <= t || row.user_id === null) {
        throw fail(C.LINK_INVALID, 'the activation link has expired or was already used; ask for a new one');
      }
      const userId = Number(row.user_id);
      const already = await db.transaction().execute(async (trx) => {
        if (!(await codes.use(Number(row.id), t, trx))) return true;
        await users.activate(userId, t, trx);
        await codes.useAllOfUser(userId, 'activation', t, trx);
        return false;
      });
      // Two clicks at once: the one that lost the race finds the account active.
      if (already) {
        if ((await users.byId(userId))?.is_active === 1) return 'already_active';
        throw fail(C.LINK_INVALID, 'the activation link was already used');
      }
      return 'activated';
    },

    /**
     * Checks the resend limits (per IP and per target) synchronously, so the answer is the same
     * for known and unknown targets; the work itself is `resendActivation`, run after answering.
     */
    async checkResend(target: string, ip: string): Promise<void> {
      const L = FLOW_LIMITS;
      await limit(
        windowRule(`resend:client:${clientKey(ip)}`, L.resendPerClient.limit, L.resendPerClient.windowMs),
        windowRule(`resend:${target.toLowerCase()}`, L.resendPerTarget.limit, L.resendPerTarget.windowMs),
      );
    },

    /** Sends a new activation link to an inactive account (by email, username or user id); silent otherwise. */
    async resendActivation(target: { email?: string; username?: string; userId?: number }, lang: Lang): Promise<void> {
      const u =
        target.userId !== undefined
          ? await users.byId(target.userId)
          : target.email
            ? await users.byEmail(normalizeEmail(target.email))
            : target.username
              ? await users.byUsername(target.username)
              : undefined;
      if (!u || u.is_active === 1 || !u.email) return;
      const email = u.email;
      await db.transaction().execute(async (trx) => {
        await issueActivation({ id: Number(u.id), username: u.username, email }, lang, trx);
      });
    },

    /** POST /v1/tokens: one door with the assistant's login (sign-in.ts); unknown users cost the same as known ones. */
    async login(input: { login: string; password: string }, ip: string): Promise<{ username: string; token: string }> {
      const r = await signIn.signIn(input.login, input.password, ip);
      if (!r.ok) {
        if (r.reason === 'throttled') throw tooMany(r.retryAfterMs);
        if (r.reason === 'wrong') throw fail(C.INVALID_PASSWORD, 'wrong username/email or password');
        throw fail(
          C.USER_QUERY_ERROR,
          'this account is not activated yet: open the link in the activation mail, or ask for a new one (POST /v1/users/activation/resend)',
          {
            reason: 'not_activated',
          },
        );
      }
      const s = await accounts.createSession(r.member.id, 'web');
      return { username: r.member.username, token: s.token };
    },

    /** POST /v1/users/<username>/password: needs the old password; other sessions are revoked; a notice is mailed. */
    async changePassword(
      user: Member,
      sessionId: number,
      input: { oldpassword: string; password1: string; password2: string },
      lang: Lang,
      ip: string,
    ): Promise<void> {
      if (input.password1 !== input.password2) throw fail(C.NEW_PASSWORDS_DIFFER, 'the new password and its confirmation differ');
      // The old password is a guess like a sign-in: the same budget (sign-in.ts), reserved first.
      const checked = await signIn.checkPassword(user.id, input.oldpassword, ip);
      if (checked === 'no_password') throw fail(C.OLD_PASSWORD_MISSING, 'this account has no password yet; use "forgot password"');
      if (checked === 'wrong') throw fail(C.OLD_PASSWORD_WRONG, 'the old password is wrong');
      if (checked !== 'ok') throw tooMany(checked.retryAfterMs);
      const row = (await users.byId(user.id))!;
      if (input.password1 === input.oldpassword) throw fail(C.SAME_PASSWORD, 'the new password must differ from the old one');
      const problem = await passwordProblem(input.password1, user.username, row.email);
      if (problem) throw fail(C.INVALID_PASSWORD, problem.message, { reason: problem.reason });
      const hash = await hashPassword(input.password1);
      const t = now();
      await db.transaction().execute(async (trx) => {
        await users.setPasswordHash(user.id, hash, t, trx);
        await accounts.revokeSessions(user.id, { exceptSessionId: sessionId, trx });
        if (row.email) {
          const m = passwordChangedMail({ username: user.username, at: t, lang });
          await mailer.enqueue(mailTo(publicUrl, row.email, `password-changed.${user.id}.${t}`, m), { trx });
        }
      });
    },
  };
}

export type Flows = ReturnType<typeof createFlows>;
