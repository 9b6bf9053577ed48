/**
 * Attempt limits kept in the database, so they hold for every instance of a fleet and survive a
 * restart. An attempt is reserved BEFORE the work it guards (argon2, a token lookup, a call to
 * WeChat) with one conditional upsert per key:
 *
 *   INSERT ... ON CONFLICT (key) DO UPDATE SET count = count + 1 WHERE <still allowed> RETURNING count
 *
 * No row back means "refused", and nothing was counted. Several keys (per identity and client, per
 * identity, per client) are reserved in one transaction: all or none, so a client throttled on one
 * key never spends the budget of another (an attacker cannot push the owner's identity budget
 * down with attempts that were refused anyway). Keys are taken in sorted order, so two
 * transactions never wait on each other's rows in opposite orders (no deadlock on PostgreSQL).
 *
 * Two kinds of rule:
 *  - window:  at most `limit` attempts per fixed window of `windowMs`, starting at the first one;
 *  - backoff: `free` attempts, then each further one waits `baseMs`, doubling, up to `maxMs`; the
 *             count is forgotten `forgetMs` after the last attempt. Slower than a lockout: the
 *             rightful owner, on another client, gets in after at most a short wait, while every
 *             client together gets no more guesses than the schedule allows.
 *
 * Why not `rate-limiter-flexible` (its SQLite and PostgreSQL stores were tried first): its SQLite
 * store writes through the raw better-sqlite3 handle, outside Kysely's connection mutex, so its
 * upsert lands inside whatever Kysely transaction another request has open on that connection.
 * Measured (2026-12-02, kysely 0.28 + better-sqlite3 12 + rate-limiter-flexible 11.4): a consume()
 * made while an unrelated transaction was open was lost when that transaction rolled back (0
 * points after). A separate connection would make its synchronous busy-wait block the event loop
 * while our own connection holds the write lock. It also reads Date.now() (our tests move the
 * clock through `now`), and has no all-or-nothing reservation over several keys nor a backoff
 * that fits item 4. The statements below are one upsert each, the same on both dialects.
 */
import { sql } from 'kysely';
import { dialectOf, type DB, type Executor } from '../db/index.js';
import type { SqliteFast } from '../db/sqlite-fast.js';
import './tables.js';

export interface WindowRule {
  kind: 'window';
  key: string;
  limit: number;
  windowMs: number;
}

export interface BackoffRule {
  kind: 'backoff';
  key: string;
  /** Attempts before any wait. */
  free: number;
  /** The first wait; each further attempt doubles it. */
  baseMs: number;
  maxMs: number;
  /** The count starts again once this long has passed without an attempt. */
  forgetMs: number;
}

export type LimitRule = WindowRule | BackoffRule;

export type Reservation = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * The client part of a limit key for an address: IPv4 as it is (IPv4-mapped IPv6 too), IPv6 by
 * its /64. One IPv6 subscriber usually holds a whole /64 (2^64 addresses): keyed by the full
 * address, per-client limits would be no limits at all.
 */
export function clientKey(ip: string): string {
  // The usual case, an IPv4 address with no zone: itself, without the two regular expressions
  // below (they were ~0.3 us of a getUserInfo answer, perf, bench/README.md "an eighth pass").
  if (ip && !ip.includes(':') && !ip.includes('%')) return ip;
  const a = (ip || 'unknown').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped) return mapped[1];
  if (!a.includes(':')) return a;
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

export const windowRule = (key: string, limit: number, windowMs: number): WindowRule => ({ kind: 'window', key, limit, windowMs });
export const backoffRule = (key: string, o: Omit<BackoffRule, 'kind' | 'key'>): BackoffRule => ({ kind: 'backoff', key, ...o });

/** The wait after the n-th attempt of a backoff rule (0 while attempts are free). */
export function backoffDelay(rule: Pick<BackoffRule, 'free' | 'baseMs' | 'maxMs'>, n: number): number {
  if (n <= rule.free) return 0;
  return Math.min(rule.maxMs, rule.baseMs * 2 ** Math.min(n - rule.free - 1, 40));
}

/**
 * When the attempt after the n-th may come: 0 (any time) while attempts are free, not `t`. Each
 * reservation reads the clock before its statement runs, so in parallel (or across instances
 * whose clocks differ) one stamped t can run after one stamped t + 1; a `next_at` of t + 1 would
 * refuse it though no wait was due (test/security/limits-clock-order.test.ts).
 */
function nextAt(rule: BackoffRule, n: number, t: number): number {
  const wait = backoffDelay(rule, n);
  return wait > 0 ? t + wait : 0;
}

class Refused extends Error {
  constructor(readonly retryAfterMs: number) {
    super('refused');
  }
}

const SWEEP_EVERY_MS = 3600_000;
/** Keys are built from user input (names, addresses): bounded so a long one cannot bloat the table. */
const MAX_KEY = 300;

export interface AttemptLimiter {
  /** Reserves one attempt on every rule, all or none. */
  reserve(rules: LimitRule[]): Promise<Reservation>;
  /** Whether a window rule is used up, without counting: 0 when not, else the wait in ms. */
  exhausted(rule: WindowRule): Promise<number>;
  /**
   * `exhausted` for a counter row the caller read itself (`counterKey(rule)`'s `count` and
   * `reset_at`, undefined when there is none): a hot path that reads it in its own statement.
   */
  exhaustedBy(rule: WindowRule, row: { count: number; reset_at: number } | undefined): number;
  /** Gives back one attempt per key (a success that should not count); a backoff's wait is lifted. */
  refund(keys: string[]): Promise<void>;
  /** Forgets the keys (e.g. the client that just proved itself for an identity). */
  reset(keys: string[]): Promise<void>;
  /** `reset` and `refund` in one statement (one commit): a success's bookkeeping. */
  settle(o: { reset: string[]; refund: string[] }): Promise<void>;
  /** Deletes counters whose window has passed. Runs by itself at most hourly. */
  sweep(): Promise<number>;
}

/**
 * Runs a give-back (refund or settle) now; if the database fails (a dropped connection, an outage),
 * retries it in the background instead of failing the request: the guess was already judged, and
 * a give-back that never lands would count the rightful owner's success as a failure (during an
 * outage, enough of those lock the owner out). Retries back off from 1 s to 30 s for ~5 minutes,
 * then give up (the window forgets the count anyway).
 */
async function bookkeeping(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch {
    let delay = 1000;
    let spent = 0;
    const retry = (): void => {
      const t = setTimeout(() => {
        write().catch(() => {
          spent += delay;
          delay = Math.min(delay * 2, 30_000);
          if (spent < 5 * 60_000) retry();
        });
      }, delay);
      t.unref();
    };
    retry();
  }
}

/** The key a rule's counter row is stored under (attempt_counters.key). */
export const counterKey = (rule: LimitRule): string => boundedKey(rule.key);

function boundedKey(key: string): string {
  return key.length <= MAX_KEY ? key : `${key.slice(0, 200)}#${key.length}:${fnv(key)}`;
}

function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(36);
}

/**
 * Builds the limiter over a database handle. Stateless apart from the sweep timer's last run.
 * `fast` (the handle's sqliteFast, db/sqlite-fast.ts): on SQLite with a read-only connection,
 * `exhausted`, a read on hot paths (every claim-link lookup), runs there as one prepared statement
 * instead of through Kysely.
 */
export function createAttemptLimiter(deps: { db: DB; now: () => number; fast?: SqliteFast }): AttemptLimiter {
  const { db, now } = deps;
  let lastSweep = now();
  const postgres = dialectOf(db) === 'postgres';
  /**
   * The rows of `keys` for a give-back's one statement. On PostgreSQL their row locks are taken in
   * key order first, the order `reserve` takes them in: a plain `key IN (...)` update locks in
   * whatever order it meets the rows, and against a reservation holding one key and waiting for
   * the other it deadlocked (test/security/limits-clock-order.test.ts). SQLite has one write lock.
   */
  const rowsOf = (keys: string[]) =>
    postgres
      ? sql`key IN (SELECT key FROM attempt_counters WHERE key IN (${sql.join(keys)}) ORDER BY key FOR UPDATE)`
      : sql`key IN (${sql.join(keys)})`;
  const countOf = deps.fast?.statement<[string], { count: number; reset_at: number }>(
    'SELECT count, reset_at FROM attempt_counters WHERE key = ?',
    { on: 'reader-only' },
  );

  /** Reserves one attempt on one key: the count after it, or minus the wait when refused. */
  async function reserveOne(ex: Executor, rule: LimitRule, t: number): Promise<number> {
    const key = boundedKey(rule.key);
    if (rule.kind === 'window') {
      const r = await sql<{ count: number }>`
        INSERT INTO attempt_counters (key, count, reset_at, next_at) VALUES (${key}, 1, ${t + rule.windowMs}, 0)
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN attempt_counters.reset_at <= ${t} THEN 1 ELSE attempt_counters.count + 1 END,
          reset_at = CASE WHEN attempt_counters.reset_at <= ${t} THEN excluded.reset_at ELSE attempt_counters.reset_at END
        WHERE attempt_counters.reset_at <= ${t} OR attempt_counters.count < ${rule.limit}
        RETURNING count`.execute(ex);
      if (r.rows.length === 0) {
        const row = await sql<{ reset_at: number }>`SELECT reset_at FROM attempt_counters WHERE key = ${key}`.execute(ex);
        return Math.max(1000, Number(row.rows[0]?.reset_at ?? t) - t) * -1;
      }
      return Number(r.rows[0].count);
    }
    const r = await sql<{ count: number }>`
      INSERT INTO attempt_counters (key, count, reset_at, next_at) VALUES (${key}, 1, ${t + rule.forgetMs}, ${nextAt(rule, 1, t)})
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN attempt_counters.reset_at <= ${t} THEN 1 ELSE attempt_counters.count + 1 END,
        reset_at = excluded.reset_at
      WHERE attempt_counters.reset_at <= ${t} OR attempt_counters.next_at <= ${t}
      RETURNING count`.execute(ex);
    if (r.rows.length === 0) {
      const row = await sql<{ next_at: number }>`SELECT next_at FROM attempt_counters WHERE key = ${key}`.execute(ex);
      return Math.max(1000, Number(row.rows[0]?.next_at ?? t) - t) * -1;
    }
    const n = Number(r.rows[0].count);
    // The row is ours until the transaction ends (locked on PostgreSQL, SQLite's write lock).
    await sql`UPDATE attempt_counters SET next_at = ${nextAt(rule, n, t)} WHERE key = ${key}`.execute(ex);
    return n;
  }

  async function maybeSweep(t: number): Promise<void> {
    if (t - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = t;
    await limiter.sweep().catch(() => undefined);
  }

  const limiter: AttemptLimiter = {
    async reserve(rules) {
      const t = now();
      await maybeSweep(t);
      const sorted = [...rules].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      if (sorted.length === 1) {
        const n = await reserveOne(db, sorted[0], t);
        return n < 0 ? { ok: false, retryAfterMs: -n } : { ok: true };
      }
      try {
        await db.transaction().execute(async (trx) => {
          for (const rule of sorted) {
            const n = await reserveOne(trx, rule, t);
            if (n < 0) throw new Refused(-n);
          }
        });
        return { ok: true };
      } catch (err) {
        if (err instanceof Refused) return { ok: false, retryAfterMs: err.retryAfterMs };
        throw err;
      }
    },

    async exhausted(rule) {
      const row = countOf
        ? countOf.get(boundedKey(rule.key))
        : (
            await sql<{
              count: number;
              reset_at: number;
            }>`SELECT count, reset_at FROM attempt_counters WHERE key = ${boundedKey(rule.key)}`.execute(db)
          ).rows[0];
      return limiter.exhaustedBy(rule, row);
    },

    exhaustedBy(rule, row) {
      const t = now();
      if (!row || Number(row.reset_at) <= t || Number(row.count) < rule.limit) return 0;
      return Math.max(1000, Number(row.reset_at) - t);
    },

    async refund(keys) {
      if (!keys.length) return;
      const rows = rowsOf(keys.map(boundedKey));
      await bookkeeping(() => sql`UPDATE attempt_counters SET count = count - 1, next_at = 0 WHERE ${rows} AND count > 0`.execute(db));
    },

    async reset(keys) {
      if (!keys.length) return;
      await sql`DELETE FROM attempt_counters WHERE ${rowsOf(keys.map(boundedKey))}`.execute(db);
    },

    async settle(o) {
      const reset = o.reset.map(boundedKey);
      const all = [...reset, ...o.refund.map(boundedKey)];
      if (!all.length) return;
      // A window's count at 0 is the same as no row; the sweep deletes it when its window ends.
      const zero = reset.length ? sql`WHEN key IN (${sql.join(reset)}) THEN 0 ` : sql``;
      await bookkeeping(() =>
        sql`UPDATE attempt_counters SET count = CASE ${zero}ELSE count - 1 END, next_at = 0 WHERE ${rowsOf(all)} AND count > 0`.execute(db),
      );
    },

    async sweep() {
      // On PostgreSQL the sweep takes only the rows nobody holds (a reservation's transaction may
      // hold one expired key and reach for another: a plain DELETE over many rows deadlocked with
      // it, test/security/limits-clock-order.test.ts); a row skipped now goes at the next sweep.
      const expired = postgres
        ? sql`key IN (SELECT key FROM attempt_counters WHERE reset_at < ${now()} FOR UPDATE SKIP LOCKED)`
        : sql`reset_at < ${now()}`;
      const r = await sql`DELETE FROM attempt_counters WHERE ${expired}`.execute(db);
      return Number(r.numAffectedRows ?? 0);
    },
  };
  return limiter;
}
