/**
 * Password recovery by emailed code, made safe (the seed's step 3 took only an email):
 *   /sms           -> a 6-digit code (CSPRNG), stored as a keyed HMAC, 10 minutes, single use.
 *                     A code row is written for unknown addresses too (nothing is mailed), so every
 *                     later answer looks the same whether or not the address has an account.
 *   /verification  -> the code, at most 5 wrong tries then dead (10106); success gives a reset
 *                     ticket (256 bits, SHA-256 stored, 15 minutes, single use).
 *   /new           -> needs the ticket (or the code itself), checked first and inside the per-client
 *                     limit, before anything that depends on the address (the password policy
 *                     compares with the username); sets the password, activates the account (the
 *                     mailbox is proven), revokes every session, mails a notice.
 * Each guess at a code is reserved before it is compared, in one statement
 * (`UPDATE ... SET tries = tries + 1 WHERE ... AND tries < 5 RETURNING tries`).
 */
import { createHmac } from 'node:crypto';
import type { DB, Dialect, Executor } from '../../platform/db/index.js';
import type { Mailer } from '../../platform/mail/types.js';
import { hashInSlot as hashPassword } from './hash-slots.js';
import { hashToken, randomDigits, randomToken, safeEqual } from '../../platform/crypto/tokens.js';
import { clientKey, windowRule, type AttemptLimiter, type LimitRule } from '../../platform/limits/attempts.js';
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

const MIN = 60_000;
/** Kept in the database for the whole fleet (platform/limits/attempts.ts). */
export const RECOVERY_LIMITS = {
  /** /sms per address. */
  sendPerAddress: { limit: 5, windowMs: 15 * MIN },
  /** /sms per client. */
  sendPerClient: { limit: 20, windowMs: 15 * MIN },
  /** /verification and /new per client (a code's own 5 tries bound guesses per address). */
  verifyPerClient: { limit: 30, windowMs: 15 * MIN },
} as const;

export interface RecoveryDeps {
  db: DB;
  dialect: Dialect;
  now: () => number;
  mailer: Pick<Mailer, 'enqueue'>;
  publicUrl: string;
  /** Key of the HMAC over 6-digit codes: a leaked table alone does not give the codes away. */
  codeKey: Buffer;
  limiter: AttemptLimiter;
}

export function createRecovery(deps: RecoveryDeps) {
  const { db, dialect, now, mailer, publicUrl, limiter } = deps;
  const L = RECOVERY_LIMITS;

  async function limit(...rules: LimitRule[]): Promise<void> {
    const r = await limiter.reserve(rules);
    if (!r.ok) throw tooMany(r.retryAfterMs);
  }
  const verifyLimit = (ip: string) =>
    limit(windowRule(`recovery.verify:client:${clientKey(ip)}`, L.verifyPerClient.limit, L.verifyPerClient.windowMs));
  const users = createUsersRepo(db);
  const codes = createCodesRepo(db);
  const accounts = createAccountsService({ db, dialect, now });

  const codeHash = (email: string, code: string) => createHmac('sha256', deps.codeKey).update(`recovery:${email}:${code}`).digest('hex');

  function tooMany(ms: number) {
    return fail(C.TOO_MANY, `too many requests; try again in ${Math.ceil(ms / 1000)} s`, { retry_after: Math.ceil(ms / 1000) });
  }

  /**
   * Checks a guess at the newest code for the address: the try is reserved first (dead at 5).
   * Answers the code's row without using it (the caller uses it, compare-and-set).
   */
  async function checkCode(email: string, code: string): Promise<CodeRow> {
    const row = await codes.latestForEmail('recovery', email);
    const dead = 'the code is no longer valid; ask for a new one';
    const tries = row ? await codes.reserveTry(Number(row.id), MAX_CODE_TRIES, now()) : undefined;
    if (!row || tries === undefined) throw fail(C.CODE_DEAD, dead);
    if (!/^\d{6}$/.test(code) || !safeEqual(codeHash(email, code), row.code_hash)) {
      if (tries >= MAX_CODE_TRIES) throw fail(C.CODE_DEAD, `wrong code, ${MAX_CODE_TRIES} times: ${dead}`);
      throw fail(C.CODE_WRONG, `wrong code; ${MAX_CODE_TRIES - tries} tries left`);
    }
    if (row.user_id === null) throw fail(C.CODE_DEAD, dead);
    return row;
  }

  return {
    /** The per-address and per-IP limits of /sms, checked before answering (same for any address). */
    async checkSend(email: string, ip: string): Promise<void> {
      await limit(
        windowRule(`recovery.send:client:${clientKey(ip)}`, L.sendPerClient.limit, L.sendPerClient.windowMs),
        windowRule(`recovery.send:${normalizeEmail(email)}`, L.sendPerAddress.limit, L.sendPerAddress.windowMs),
      );
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
          {
            purpose: 'recovery',
            user_id: user ? Number(user.id) : null,
            email,
            code_hash: codeHash(email, code),
            expires_at: t + CODE_TTL_MS,
          },
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
      await verifyLimit(ip);
      const row = await checkCode(email, code);
      if (!(await codes.use(Number(row.id), now()))) throw fail(C.CODE_DEAD, 'the code is no longer valid; ask for a new one');
      const ticket = randomToken();
      const t = now();
      await codes.insert(
        { purpose: 'reset_ticket', user_id: row.user_id, email, code_hash: hashToken(ticket), expires_at: t + TICKET_TTL_MS },
        t,
      );
      return { email, ticket };
    },

    /** Step 3: a new password with a ticket (or the code itself). Without one: 10112, nothing changes. */
    async reset(
      input: { email: string; password1: string; password2: string; ticket?: string; code?: string },
      ip: string,
      lang: Lang,
    ): Promise<void> {
      const email = normalizeEmail(input.email);
      if (!input.ticket && !input.code)
        throw fail(C.LINK_INVALID, 'a reset ticket (from /v1/users/password/verification) or the emailed code is required');
      if (input.password1 !== input.password2) throw fail(C.PASSWORDS_DIFFER, 'the two passwords differ');
      // The proof first, inside the per-client limit: nothing below may depend on the address
      // (the policy compares with its username) before the caller has shown the ticket or code.
      await verifyLimit(ip);
      let ticketRow: CodeRow | undefined;
      let codeRow: CodeRow | undefined;
      if (input.ticket) {
        ticketRow = TOKEN_RE.test(input.ticket) ? await codes.byHash('reset_ticket', hashToken(input.ticket)) : undefined;
        if (
          !ticketRow ||
          ticketRow.used_at !== null ||
          ticketRow.expires_at <= now() ||
          ticketRow.email !== email ||
          ticketRow.user_id === null
        ) {
          throw fail(C.LINK_INVALID, 'the reset ticket is invalid or expired; start again');
        }
      } else {
        codeRow = await checkCode(email, input.code!);
      }
      const proven = Number((ticketRow ?? codeRow)!.user_id);
      const user = await users.byEmail(email);
      if (!user || Number(user.id) !== proven) {
        throw input.ticket
          ? fail(C.LINK_INVALID, 'the reset ticket is invalid or expired; start again')
          : fail(C.CODE_DEAD, 'the code is no longer valid; ask for a new one');
      }
      // A refused password burns neither the ticket nor the code (both are used at the end).
      const problem = await passwordProblem(input.password1, user.username, user.email);
      if (problem) throw fail(C.INVALID_PASSWORD, problem.message, { reason: problem.reason });
      const u = user;
      const hash = await hashPassword(input.password1);
      const t = now();
      await db.transaction().execute(async (trx: Executor) => {
        if (ticketRow && !(await codes.use(Number(ticketRow.id), t, trx))) throw fail(C.LINK_INVALID, 'the reset ticket was already used');
        if (codeRow && !(await codes.use(Number(codeRow.id), t, trx)))
          throw fail(C.CODE_DEAD, 'the code is no longer valid; ask for a new one');
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
