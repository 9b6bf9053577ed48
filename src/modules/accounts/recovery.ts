/**
 * Password recovery by emailed code, made safe (the seed's step 3 took only an email):
 *   /sms           -> a 6-digit code (CSPRNG), stored as a keyed HMAC, 10 minutes, single use.
 *                     A code row is written for unknown addresses too (nothing is mailed), so every
 *                     later answer looks the same whether or not the address has an account.
 *   /verification  -> the code, at most 5 wrong tries then dead (10106); success gives a reset
 *                     ticket (256 bits, SHA-256 stored, 15 minutes, single use).
 *   /new           -> needs the ticket (or the code itself); sets the password, activates the
 *                     account (the mailbox is proven), revokes every session, mails a notice.
 */
import { createHmac } from 'node:crypto';
import type { DB, Dialect, Executor } from '../../platform/db/index.js';
import type { Mailer } from '../../platform/mail/types.js';
import { hashInSlot as hashPassword } from './hash-slots.js';
import { hashToken, randomDigits, randomToken, safeEqual } from '../../platform/crypto/tokens.js';
import type { RateLimiter } from '../../platform/http/rate-limit.js';
import { createAccountsService, normalizeEmail } from './service.js';
import { createUsersRepo } from './users-repo.js';
import { createCodesRepo, type CodeRow } from './codes-repo.js';
import { C, fail } from './errors.js';
import { passwordProblem } from './password-policy.js';
import { passwordResetMail, recoveryCodeMail, type Lang } from './mail-templates.js';
import { mailTo, TOKEN_RE } from './flows.js';

export const CODE_TTL_MS = 10 * 60_000;
export const TICKET_TTL_MS = 15 * 60_000;
export const MAX_CODE_TRIES = 5;

export interface RecoveryLimits {
  /** /sms per address. */
  sendPerAddress: RateLimiter;
  /** /sms per client IP. */
  sendPerIp: RateLimiter;
  /** /verification and /new guesses per IP (a code's own 5 tries bound guesses per address). */
  verifyPerIp: RateLimiter;
}

export interface RecoveryDeps {
  db: DB;
  dialect: Dialect;
  now: () => number;
  mailer: Pick<Mailer, 'enqueue'>;
  publicUrl: string;
  /** Key of the HMAC over 6-digit codes: a leaked table alone does not give the codes away. */
  codeKey: Buffer;
  limits: RecoveryLimits;
}

export function createRecovery(deps: RecoveryDeps) {
  const { db, dialect, now, mailer, publicUrl, limits } = deps;
  const users = createUsersRepo(db);
  const codes = createCodesRepo(db);
  const accounts = createAccountsService({ db, dialect, now });

  const codeHash = (email: string, code: string) => createHmac('sha256', deps.codeKey).update(`recovery:${email}:${code}`).digest('hex');

  function tooMany(ms: number) {
    return fail(C.TOO_MANY, `too many requests; try again in ${Math.ceil(ms / 1000)} s`, { retry_after: Math.ceil(ms / 1000) });
  }

  /**
   * Checks the code against the newest one for the address; counts a wrong try (dead at 5).
   * On success marks it used and returns its row.
   */
  async function consumeCode(email: string, code: string, ip: string): Promise<CodeRow> {
    const wait = limits.verifyPerIp.hit(ip);
    if (wait) throw tooMany(wait);
    const row = await codes.latestForEmail('recovery', email);
    const t = now();
    const dead = 'the code is no longer valid; ask for a new one';
    if (!row || row.used_at !== null || row.expires_at <= t || row.tries >= MAX_CODE_TRIES) throw fail(C.CODE_DEAD, dead);
    if (!/^\d{6}$/.test(code) || !safeEqual(codeHash(email, code), row.code_hash)) {
      const tries = await codes.addTry(Number(row.id));
      if (tries >= MAX_CODE_TRIES) throw fail(C.CODE_DEAD, `wrong code, ${MAX_CODE_TRIES} times: ${dead}`);
      throw fail(C.CODE_WRONG, `wrong code; ${MAX_CODE_TRIES - tries} tries left`);
    }
    if (row.user_id === null || !(await codes.use(Number(row.id), t))) throw fail(C.CODE_DEAD, dead);
    return row;
  }

  return {
    /** The per-address and per-IP limits of /sms, checked before answering (same for any address). */
    checkSend(email: string, ip: string): void {
      const a = limits.sendPerIp.hit(ip);
      const b = limits.sendPerAddress.hit(normalizeEmail(email));
      if (a || b) throw tooMany(Math.max(a, b));
    },

    /**
     * Writes a new code for the address and, when it belongs to an account, enqueues the code
     * mail in the same transaction. Runs after the answer has gone (see routes), so its cost
     * cannot be timed by the caller.
     */
    async sendCode(emailIn: string, lang: Lang): Promise<void> {
      const email = normalizeEmail(emailIn);
      const user = await users.byEmail(email);
      const code = randomDigits(6);
      const t = now();
      await db.transaction().execute(async (trx) => {
        const id = await codes.insert(
          { purpose: 'recovery', user_id: user ? Number(user.id) : null, email, code_hash: codeHash(email, code), expires_at: t + CODE_TTL_MS },
          t,
          trx,
        );
        if (user) {
          const m = recoveryCodeMail({ username: user.username, code, lang });
          await mailer.enqueue(mailTo(publicUrl, email, `recovery.${id}`, m), { trx });
        }
      });
    },

    /** Step 2: the code for a one-time reset ticket. */
    async verify(emailIn: string, code: string, ip: string): Promise<{ email: string; ticket: string }> {
      const email = normalizeEmail(emailIn);
      const row = await consumeCode(email, code, ip);
      const ticket = randomToken();
      const t = now();
      await codes.insert({ purpose: 'reset_ticket', user_id: row.user_id, email, code_hash: hashToken(ticket), expires_at: t + TICKET_TTL_MS }, t);
      return { email, ticket };
    },

    /** Step 3: a new password with a ticket (or the code itself). Without one: 10112, nothing changes. */
    async reset(
      input: { email: string; password1: string; password2: string; ticket?: string; code?: string },
      ip: string,
      lang: Lang,
    ): Promise<void> {
      const email = normalizeEmail(input.email);
      if (!input.ticket && !input.code) throw fail(C.LINK_INVALID, 'a reset ticket (from /v1/users/password/verification) or the emailed code is required');
      if (input.password1 !== input.password2) throw fail(C.PASSWORDS_DIFFER, 'the two passwords differ');
      // Check the password first, so a refused password does not burn the ticket or the code.
      const user = await users.byEmail(email);
      const problem = passwordProblem(input.password1, user?.username);
      if (problem) throw fail(C.INVALID_PASSWORD, problem);

      let ticketRow: CodeRow | undefined;
      if (input.ticket) {
        const wait = limits.verifyPerIp.hit(ip);
        if (wait) throw tooMany(wait);
        ticketRow = TOKEN_RE.test(input.ticket) ? await codes.byHash('reset_ticket', hashToken(input.ticket)) : undefined;
        if (!ticketRow || ticketRow.used_at !== null || ticketRow.expires_at <= now() || ticketRow.email !== email || !user || Number(ticketRow.user_id) !== Number(user.id)) {
          throw fail(C.LINK_INVALID, 'the reset ticket is invalid or expired; start again');
        }
      } else {
        const row = await consumeCode(email, input.code!, ip);
        if (!user || Number(row.user_id) !== Number(user.id)) throw fail(C.CODE_DEAD, 'the code is no longer valid; ask for a new one');
      }
      const u = user!;
      const hash = await hashPassword(input.password1);
      const t = now();
      await db.transaction().execute(async (trx: Executor) => {
        if (ticketRow && !(await codes.use(Number(ticketRow.id), t, trx))) throw fail(C.LINK_INVALID, 'the reset ticket was already used');
        await users.setPasswordHash(Number(u.id), hash, t, trx);
        if (u.is_active !== 1) await users.activate(Number(u.id), t, trx);
        await codes.useAllOfUser(Number(u.id), 'reset_ticket', t, trx);
        await accounts.revokeSessions(Number(u.id), { trx });
        const m = passwordResetMail({ username: u.username, at: t, lang });
        await mailer.enqueue(mailTo(publicUrl, email, `password-reset.${u.id}.${t}`, m), { trx });
      });
    },
  };
}

export type Recovery = ReturnType<typeof createRecovery>;
