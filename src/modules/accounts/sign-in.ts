/**
 * One door for every password sign-in of a member (accounts `/v1/tokens`, the assistant's
 * `/account/login`, the old password on "change password"): one identity, one lockout policy,
 * whichever module the member comes through.
 *
 * Each attempt is reserved in the database before argon2 runs (platform/limits/attempts.ts) on:
 *  - the identity on this client: 10 per 15 minutes (the attacker's client is stopped);
 *  - the identity on every client: 20 free, then a wait of 1 s doubling up to 15 minutes, forgotten
 *    after 24 hours without an attempt (many clients together get few guesses; the owner on
 *    another client waits seconds, not a lockout);
 *  - the client on every identity: 50 per 15 minutes (one client spraying many names).
 * A success forgets the identity on this client and gives its attempt back to the others. Unknown
 * names are counted under the name typed, so they cost the same as known ones.
 */
import type { DB } from '../../platform/db/index.js';
import { backoffRule, clientKey, createAttemptLimiter, windowRule, type AttemptLimiter } from '../../platform/limits/attempts.js';
import { dummyPasswordHash } from '../../platform/crypto/passwords.js';
import { verifyInSlot as verifyHash } from './hash-slots.js';
import { normalizeEmail, toMember, type Member } from './service.js';
import { createUsersRepo } from './users-repo.js';

const MIN = 60_000;
export const SIGN_IN_LIMITS = {
  perIdentityAndClient: { limit: 10, windowMs: 15 * MIN },
  perIdentity: { free: 20, baseMs: 1000, maxMs: 15 * MIN, forgetMs: 24 * 60 * MIN },
  perClient: { limit: 50, windowMs: 15 * MIN },
} as const;

export type SignInResult =
  | { ok: true; member: Member }
  | { ok: false; reason: 'wrong' }
  | { ok: false; reason: 'not_activated' }
  | { ok: false; reason: 'throttled'; retryAfterMs: number };

/** The limit keys of an identity seen from a client. */
function keys(identity: string, client: string) {
  const c = clientKey(client);
  return { pair: `signin:${identity}|${c}`, identity: `signin:${identity}`, client: `signin:client:${c}` };
}

export function createSignIn(deps: { db: DB; now: () => number; limiter?: AttemptLimiter }) {
  const users = createUsersRepo(deps.db);
  const limiter = deps.limiter ?? createAttemptLimiter({ db: deps.db, now: deps.now });

  /**
   * Runs `check` (the slow comparison) only if the attempt could be reserved; counts it as a
   * failure unless `check` answers true.
   */
  async function guarded(
    identity: string,
    client: string,
    check: () => Promise<boolean>,
  ): Promise<'ok' | 'wrong' | { retryAfterMs: number }> {
    const k = keys(identity, client);
    const L = SIGN_IN_LIMITS;
    const r = await limiter.reserve([
      windowRule(k.pair, L.perIdentityAndClient.limit, L.perIdentityAndClient.windowMs),
      backoffRule(k.identity, L.perIdentity),
      windowRule(k.client, L.perClient.limit, L.perClient.windowMs),
    ]);
    if (!r.ok) {
      // A refused attempt still costs the client: otherwise, once an identity is throttled on
      // this client, probing which email shares it (throttled vs wrong) would be free.
      await limiter.reserve([windowRule(k.client, L.perClient.limit, L.perClient.windowMs)]);
      return { retryAfterMs: r.retryAfterMs };
    }
    if (!(await check())) return 'wrong';
    await limiter.settle({ reset: [k.pair], refund: [k.identity, k.client] });
    return 'ok';
  }

  return {
    /** A password sign-in by username (any case) or email. Only activated members get `ok`. */
    async signIn(loginIn: string, password: string, client: string): Promise<SignInResult> {
      const login = loginIn.trim();
      const row = login.includes('@') ? await users.byEmail(normalizeEmail(login)) : await users.byUsername(login);
      const identity = row ? `user:${row.id}` : `name:${login.toLowerCase()}`;
      const r = await guarded(identity, client, async () => {
        const stored = row?.password_hash ?? (await dummyPasswordHash());
        return (await verifyHash(stored, password)) && !!row?.password_hash;
      });
      if (r === 'wrong') return { ok: false, reason: 'wrong' };
      if (r !== 'ok') return { ok: false, reason: 'throttled', retryAfterMs: r.retryAfterMs };
      if (row!.is_active !== 1) return { ok: false, reason: 'not_activated' };
      return { ok: true, member: toMember(row!) };
    },

    /** The old password of a signed-in member ("change password"): the same budget as sign-ins. */
    async checkPassword(
      userId: number,
      password: string,
      client: string,
    ): Promise<'ok' | 'wrong' | 'no_password' | { retryAfterMs: number }> {
      const row = await users.byId(userId);
      if (!row?.password_hash) return 'no_password';
      const hash = row.password_hash;
      return guarded(`user:${userId}`, client, () => verifyHash(hash, password));
    },
  };
}

export type SignIn = ReturnType<typeof createSignIn>;
