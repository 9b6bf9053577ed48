/**
 * The organizer (admin) token: ADMIN_TOKEN, or generated at first start (256 bits from the CSPRNG),
 * printed once on stdout and stored only as its SHA-256 in `settings`. Checks compare hashes in
 * constant time. Each presented token is an attempt reserved in the database before it is compared
 * (platform/limits/attempts.ts), per client and for the one admin identity: a client is stopped
 * after 10 wrong tokens in 15 minutes; every client together gets 20, then waits of 1 s doubling up
 * to 15 minutes, so the organizer on another client is never locked out for long and an attacker
 * with many addresses gets no more guesses.
 */
import { sql } from 'kysely';
import type { DB } from '../../platform/db/index.js';
import { hashToken, randomToken, safeEqual } from '../../platform/crypto/tokens.js';
import { backoffRule, clientKey, createAttemptLimiter, windowRule, type AttemptLimiter } from '../../platform/limits/attempts.js';

const SETTING_KEY = 'certificates.admin_token_sha256';
/** Wrong tokens allowed per address per window before answers become "too many attempts". */
export const ADMIN_FAILURES_PER_WINDOW = 10;
export const ADMIN_WINDOW_MS = 15 * 60_000;
/** Every client together: the slower backoff on the one admin identity. */
export const ADMIN_BACKOFF = { free: 20, baseMs: 1000, maxMs: 15 * 60_000, forgetMs: 24 * 3600_000 } as const;

export type AdminCheck = { ok: true } | { ok: false; reason: 'missing' | 'wrong' | 'rate_limited'; retryAfterMs?: number };

export interface AdminAuth {
  /** Checks a presented token for the client at `ip`. */
  check(token: string | undefined | null, ip: string): Promise<AdminCheck>;
}

/**
 * Makes sure an admin token exists. Returns the freshly generated token when this call created it
 * (the caller prints it once), else undefined.
 */
export async function ensureAdminToken(db: DB, configured: string | undefined, now: number): Promise<string | undefined> {
  if (configured) return undefined;
  const existing = await sql<{ value: string }>`SELECT value FROM settings WHERE key = ${SETTING_KEY}`.execute(db);
  if (existing.rows.length > 0) return undefined;
  const token = randomToken(32);
  const res = await sql`INSERT INTO settings (key, value, updated_at) VALUES (${SETTING_KEY}, ${hashToken(token)}, ${now}) ON CONFLICT (key) DO NOTHING`.execute(db);
  // Another process may have won the race: then its token stands and ours was never stored.
  return Number(res.numAffectedRows ?? 0) > 0 ? token : undefined;
}

/** Builds the checker. The stored hash is read once and cached (it never changes while running). */
export function createAdminAuth(db: DB, configured: string | undefined, now: () => number = Date.now, limiter: AttemptLimiter = createAttemptLimiter({ db, now })): AdminAuth {
  let expected: string | undefined = configured ? hashToken(configured) : undefined;
  async function expectedHash(): Promise<string | undefined> {
    if (expected) return expected;
    const row = await sql<{ value: string }>`SELECT value FROM settings WHERE key = ${SETTING_KEY}`.execute(db);
    expected = row.rows[0]?.value;
    return expected;
  }
  return {
    async check(token, ip) {
      // No token is no guess: nothing to count (the console's first visit, a probe without one).
      if (!token) return { ok: false, reason: 'missing' };
      const pair = `admin|${clientKey(ip)}`;
      const r = await limiter.reserve([windowRule(pair, ADMIN_FAILURES_PER_WINDOW, ADMIN_WINDOW_MS), backoffRule('admin', ADMIN_BACKOFF)]);
      if (!r.ok) return { ok: false, reason: 'rate_limited', retryAfterMs: r.retryAfterMs };
      const want = await expectedHash();
      if (!want || !safeEqual(hashToken(token), want)) return { ok: false, reason: 'wrong' };
      await limiter.settle({ reset: [pair], refund: ['admin'] });
      return { ok: true };
    },
  };
}
