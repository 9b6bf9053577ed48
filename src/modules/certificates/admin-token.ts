/**
 * The organizer (admin) token: ADMIN_TOKEN, or generated at first start (256 bits from the CSPRNG),
 * printed once on stdout and stored only as its SHA-256 in `settings`. Checks compare hashes in
 * constant time. Each presented token is an attempt reserved in the database before it is compared
 * (platform/limits/attempts.ts), per client and for the one admin identity: a client is stopped
 * after 10 wrong tokens in 15 minutes; every client together gets 20, then waits of 1 s doubling up
 * to 15 minutes, so the organizer on another client is never locked out for long and an attacker
 * with many addresses gets no more guesses. A client where the token was right in the last 30 days
 * (`admin_known_clients`) is held only to its own limit: an attack from many addresses that keeps
 * the shared wait at 15 minutes does not keep the organizer out on a client that signed in before
 * (OWASP's "device cookie" idea, keyed by the client's address as every other limit here).
 */
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
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
/** A client where the token was right within this long is exempt from the identity-wide backoff. */
export const ADMIN_KNOWN_CLIENT_MS = 30 * 24 * 3600_000;
/** A known client's time is written again only when older than this (not one write per request). */
const KNOWN_REFRESH_MS = 3600_000;

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
  const res =
    await sql`INSERT INTO settings (key, value, updated_at) VALUES (${SETTING_KEY}, ${hashToken(token)}, ${now}) ON CONFLICT (key) DO NOTHING`.execute(
      db,
    );
  // Another process may have won the race: then its token stands and ours was never stored.
  return Number(res.numAffectedRows ?? 0) > 0 ? token : undefined;
}

/** Builds the checker. The stored hash is read once and cached (it never changes while running). */
export function createAdminAuth(
  db: DB,
  configured: string | undefined,
  now: () => number = Date.now,
  limiter: AttemptLimiter = createAttemptLimiter({ db, now }),
): AdminAuth {
  let expected: string | undefined = configured ? hashToken(configured) : undefined;
  async function expectedHash(): Promise<string | undefined> {
    if (expected) return expected;
    const row = await sql<{ value: string }>`SELECT value FROM settings WHERE key = ${SETTING_KEY}`.execute(db);
    expected = row.rows[0]?.value;
    return expected;
  }
  /**
   * Each client's checks in this instance, one after another: the tail of each client's queue.
   * A presented token is an attempt reserved before it is compared (so that parallel guesses are
   * limited too), and a right one is given back only once compared. Checked all at once, an
   * organizer's parallel requests (a script, the console's page loads) were each still in flight
   * as the next was reserved: past 10 from one address a right token was answered 429 "too many
   * wrong admin tokens". In turn, a right token's give-back is done before the next reservation,
   * and wrong tokens are limited exactly as before (test/security/throttle-concurrency.test.ts).
   */
  const turns = new Map<string, Promise<unknown>>();
  /**
   * Known clients' last right token, as read or written by this instance (a few entries). Only a
   * time still within ADMIN_KNOWN_CLIENT_MS is answered from here: an older one is read again, as
   * the client may have signed in through another instance since.
   */
  const known = new Map<string, number>();
  async function knownAt(client: string): Promise<number | undefined> {
    const cached = known.get(client);
    if (cached !== undefined && now() - cached < ADMIN_KNOWN_CLIENT_MS) return cached;
    const row = await db.selectFrom('admin_known_clients').select('last_ok_at').where('client_key', '=', client).executeTakeFirst();
    if (row) known.set(client, Number(row.last_ok_at));
    return row ? Number(row.last_ok_at) : undefined;
  }
  async function rememberClient(client: string, at: number | undefined): Promise<void> {
    const t = now();
    if (at !== undefined && t - at < KNOWN_REFRESH_MS) return;
    await db
      .insertInto('admin_known_clients')
      .values({ client_key: client, last_ok_at: t })
      .onConflict((oc) => oc.column('client_key').doUpdateSet({ last_ok_at: t }))
      .execute();
    if (known.size >= 1000) known.clear();
    known.set(client, t);
  }
  function inTurn<T>(key: string, f: () => Promise<T>): Promise<T> {
    const run = (turns.get(key) ?? Promise.resolve()).then(f);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    turns.set(key, tail);
    void tail.then(() => {
      if (turns.get(key) === tail) turns.delete(key);
    });
    return run;
  }
  return {
    async check(token, ip) {
      // No token is no guess: nothing to count (the console's first visit, a probe without one).
      if (!token) return { ok: false, reason: 'missing' };
      const client = clientKey(ip);
      const pair = `admin|${client}`;
      return inTurn(pair, () => compare(token, pair, client));
    },
  };

  async function compare(token: string, pair: string, client: string): Promise<AdminCheck> {
    const at = await knownAt(client);
    const isKnown = at !== undefined && now() - at < ADMIN_KNOWN_CLIENT_MS;
    // A known client is held to its own window only; its wrong tokens are not the identity's.
    const shared = isKnown ? [] : ['admin'];
    const rules = [windowRule(pair, ADMIN_FAILURES_PER_WINDOW, ADMIN_WINDOW_MS), ...(isKnown ? [] : [backoffRule('admin', ADMIN_BACKOFF)])];
    const r = await limiter.reserve(rules);
    if (!r.ok) return { ok: false, reason: 'rate_limited', retryAfterMs: r.retryAfterMs };
    let want: string | undefined;
    try {
      want = await expectedHash();
    } catch (err) {
      // The token was never compared (the database failed): it was no guess, give it back.
      await limiter.refund([pair, ...shared]);
      throw err;
    }
    if (!want || !safeEqual(hashToken(token), want)) return { ok: false, reason: 'wrong' };
    await limiter.settle({ reset: [pair], refund: shared });
    await rememberClient(client, at);
    return { ok: true };
  }
}

/** Shortest ADMIN_TOKEN `serve` accepts. */
export const ADMIN_TOKEN_MIN_CHARS = 16;
/**
 * Least zxcvbn guess estimate (log10) `serve` accepts. Wrong tokens are limited per address, so
 * guessing is online: 10^14 guesses is years even from 100,000 addresses. zxcvbn scores an
 * unstructured string at about 10^length, so a random 16-character token passes with room to
 * spare, while dictionary words, keyboard walks, dates and repeats ("test-admin-token" is about
 * 10^13) do not.
 */
export const ADMIN_TOKEN_MIN_GUESSES_LOG10 = 14;

/**
 * Why a configured ADMIN_TOKEN is too weak to guard the console (undefined when it is fine).
 * The token opens every volunteer's data and the mail sender, and it is the same for everyone
 * who has it, so `serve` refuses a weak one outright rather than warn: a warning scrolls by in a
 * log while the service is reachable with "changeme". zxcvbn-ts (with its common dictionaries) is
 * loaded only here, only when a token is configured.
 */
/**
 * zxcvbn's verdict on one string, in a child process that ends with the answer: its dictionaries
 * (~15 MB once loaded) are needed once at start, and held by the module cache forever when
 * imported here (issue 15: idle under 100 MB). A child process rather than a worker thread:
 * a worker's isolate is freed when it ends, but the malloc arena its thread used to parse the
 * dictionaries and the node binary's pages it touched stay in this process's resident memory
 * (idle after start-up, alternated 4x at load 11: 99-103 MB with the worker, 96-103 without
 * the check; bench/README.md "Latest memory (mem4)"). The token goes through stdin, never the
 * command line (which any local user can read in `ps`).
 */
async function zxcvbnOnce(s: string): Promise<{ guessesLog10: number; feedback: { warning: string | null } }> {
  const req = createRequire(import.meta.url);
  const paths = { core: req.resolve('@zxcvbn-ts/core'), common: req.resolve('@zxcvbn-ts/language-common') };
  const code = `let s = '';
    process.stdin.setEncoding('utf8').on('data', (d) => (s += d)).on('end', () => {
      const { ZxcvbnFactory } = require(${JSON.stringify(paths.core)});
      const common = require(${JSON.stringify(paths.common)});
      const r = new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs }).check(s);
      process.stdout.write(JSON.stringify({ guessesLog10: r.guessesLog10, feedback: { warning: r.feedback.warning } }));
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin.end(s);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (exitCode !== 0) throw new Error(`the token check ended (${exitCode}): ${err.trim()}`);
  return JSON.parse(out) as { guessesLog10: number; feedback: { warning: string | null } };
}

export async function adminTokenWeakness(token: string): Promise<string | undefined> {
  if ([...token].length < ADMIN_TOKEN_MIN_CHARS)
    return `it has ${[...token].length} characters; at least ${ADMIN_TOKEN_MIN_CHARS} are needed`;
  const r = await zxcvbnOnce(token);
  if (r.guessesLog10 < ADMIN_TOKEN_MIN_GUESSES_LOG10) {
    // The warning is a key ("simpleRepeat"); no translation pack is loaded for one message.
    const why = r.feedback.warning ? ` (${r.feedback.warning.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)})` : '';
    return `it is guessable: about 10^${r.guessesLog10.toFixed(0)} guesses${why}; at least 10^${ADMIN_TOKEN_MIN_GUESSES_LOG10} are needed`;
  }
  return undefined;
}
