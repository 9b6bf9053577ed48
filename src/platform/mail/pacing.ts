/**
 * Sending pace and daily quota, both kept in the database so they hold for a fleet of instances.
 *
 * - Rate (messages per second): GCRA per key in `mail_pace`: one atomic upsert moves the key's
 *   "theoretical arrival time" (tat) one interval on from max(tat, now) and hands the caller the
 *   slot it moved past. Callers queue for their slot, so every sender of every instance is spaced
 *   by 1/rate; no burst (the limit is never exceeded in any second). Times are the database's
 *   clock on PostgreSQL. A slot reserved by a process that then dies is simply left unused.
 * - Daily quota: a ROLLING 24 hours (what Gmail and most providers count), stored durably in
 *   `mail_quota` as per-minute buckets, so it survives restarts. A send reserves its slot before
 *   going out and gives it back if the send fails. At the limit, `QuotaExceeded(delayMs)` says
 *   when the oldest counted minute leaves the window. Buckets count for 24 h plus one minute, so the
 *   quota errs on the safe side by at most a minute.
 */
import { sql } from 'kysely';
import type { DB, Dialect } from '../db/index.js';
import './tables.js';
import { QuotaExceeded } from './types.js';

const DAY = 24 * 60 * 60_000;
const BUCKET = 60_000;

/** How late after its slot a send may still go; later, the slot has passed and a fresh one is taken. */
const LATE_TOLERANCE_MS = 100;

/** The fleet's pace: waits for one send slot per key, reserved in `mail_pace` (GCRA). */
export class FleetPace {
  constructor(
    private readonly db: DB,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Reserves the next slot of `key` at `ratePerSec`; answers the milliseconds until it. Slots are
   * spaced for 90% of the rate: a sender may go up to LATE_TOLERANCE_MS after its slot (timers on a
   * busy machine), and the margin keeps any second under the limit even then.
   */
  async reserve(key: string, ratePerSec: number): Promise<number> {
    const interval = 1000 / (ratePerSec * (1 - LATE_TOLERANCE_MS / 1000));
    if (this.dialect === 'postgres') {
      const r = await sql<{ tat: number; now: number }>`
        with n as (select extract(epoch from clock_timestamp()) * 1000 as t)
        insert into mail_pace (key, tat) select ${key}, n.t + ${interval} from n
        on conflict (key) do update set tat = greatest(mail_pace.tat, (select t from n)) + ${interval}
        returning tat, (select t from n) as now`.execute(this.db);
      const row = r.rows[0];
      return Math.max(0, Number(row.tat) - interval - Number(row.now));
    }
    const now = Date.now();
    const r = await sql<{ tat: number }>`
      insert into mail_pace (key, tat) values (${key}, ${now + interval})
      on conflict (key) do update set tat = max(mail_pace.tat, ${now}) + ${interval}
      returning tat`.execute(this.db);
    return Math.max(0, Number(r.rows[0].tat) - interval - now);
  }

  /**
   * Waits for a slot of every key (reserved together; the latest decides). A sender that wakes
   * well after its slot (a stalled event loop, a slow database answer) lets the slot pass and
   * takes a fresh one, so senders that fell behind do not go out in a bunch above the rate.
   */
  async take(keys: Array<{ key: string; ratePerSec: number }>): Promise<void> {
    for (let tries = 0; ; tries++) {
      let wait = 0;
      for (const k of keys) wait = Math.max(wait, await this.reserve(k.key, k.ratePerSec));
      const due = performance.now() + wait;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (performance.now() - due <= LATE_TOLERANCE_MS || tries >= 5) return;
    }
  }
}

/** Waits for one send slot at `ratePerSec`, in this process only (kept for callers outside the fleet). */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly ratePerSec: number) {
    this.tokens = Math.max(1, ratePerSec);
  }

  /** Milliseconds the caller must wait before its send (0 when a token is free); takes the token. */
  reserve(): number {
    const t = performance.now();
    const cap = Math.max(1, this.ratePerSec);
    this.tokens = Math.min(cap, this.tokens + ((t - this.last) / 1000) * this.ratePerSec);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.ratePerSec) * 1000;
  }

  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

export interface QuotaLimit {
  key: string;
  /** Undefined: counted but not limited. */
  dailyLimit?: number;
}

export interface Reservation {
  keys: string[];
  bucket: number;
  /** Counted in memory, not yet written. */
  deferred?: boolean;
}

/** Durable rolling-24h send counts per key. */
export class DailyQuota {
  /** Serializes reservations in this process; PostgreSQL instances also take an advisory lock. */
  private chain: Promise<unknown> = Promise.resolve();
  private reservations = 0;
  private pending = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: DB,
    private readonly dialect: Dialect,
    private readonly now: () => number,
  ) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Sends counted in the window for `key`, and when the oldest of them leaves it. */
  async usage(key: string, db: DB = this.db): Promise<{ used: number; oldestBucket: number | null }> {
    const since = this.now() - DAY - BUCKET;
    const row = await db
      .selectFrom('mail_quota')
      .select([sql<number | null>`sum(count)`.as('used'), sql<number | null>`min(bucket)`.as('oldest')])
      .where('key', '=', key)
      .where('bucket', '>', since)
      .where('count', '>', 0)
      .executeTakeFirst();
    return { used: Number(row?.used ?? 0), oldestBucket: row?.oldest == null ? null : Number(row.oldest) };
  }

  /**
   * Counts one send against every key, or throws QuotaExceeded (nothing counted) when a limited
   * key is at its limit. Returns the reservation to `release` if the send then fails.
   */
  reserve(limits: QuotaLimit[]): Promise<Reservation> {
    if (!limits.some((l) => l.dailyLimit)) return Promise.resolve(this.countLater(limits));
    return this.serial(async () => {
      await this.flush();
      const now = this.now();
      const bucket = Math.floor(now / BUCKET) * BUCKET;
      await this.db.transaction().execute(async (trx) => {
        for (const l of limits) {
          if (!l.dailyLimit) continue;
          if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${'mail_quota:' + l.key}))`.execute(trx);
          const { used, oldestBucket } = await this.usage(l.key, trx);
          if (used >= l.dailyLimit) {
            const frees = (oldestBucket ?? bucket) + DAY + BUCKET;
            const scope = l.key === '*' ? 'the daily mail quota' : `the daily mail quota of ${l.key}`;
            throw new QuotaExceeded(`${scope} (${l.dailyLimit} per 24 h) is used up`, Math.max(1000, frees - now));
          }
        }
        for (const l of limits) {
          await trx
            .insertInto('mail_quota')
            .values({ key: l.key, bucket, count: 1 })
            .onConflict((oc) => oc.columns(['key', 'bucket']).doUpdateSet({ count: sql`${sql.ref('mail_quota.count')} + 1` }))
            .execute();
        }
      });
      if (this.reservations++ % 1000 === 0) await this.prune(now);
      return { keys: limits.map((l) => l.key), bucket };
    });
  }

  /**
   * No limit applies: count in memory and write the counts at most every second (one upsert per
   * key and minute), so unlimited sending costs no database round trip per message. A crash
   * loses at most a second of counts, which only matters if a limit is configured later.
   */
  private countLater(limits: QuotaLimit[]): Reservation {
    const bucket = Math.floor(this.now() / BUCKET) * BUCKET;
    for (const l of limits) {
      const id = `${bucket}\u0000${l.key}`;
      this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
    }
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => void this.flush().catch(() => undefined), 1000);
      this.flushTimer.unref();
    }
    return { keys: limits.map((l) => l.key), bucket, deferred: true };
  }

  /** Writes the counts kept in memory. */
  async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    for (const [id, n] of batch) {
      if (n <= 0) continue;
      const sep = id.indexOf('\u0000');
      const bucket = Number(id.slice(0, sep));
      const key = id.slice(sep + 1);
      await this.db
        .insertInto('mail_quota')
        .values({ key, bucket, count: n })
        .onConflict((oc) => oc.columns(['key', 'bucket']).doUpdateSet({ count: sql`${sql.ref('mail_quota.count')} + ${n}` }))
        .execute();
    }
  }

  /** Gives back a reservation whose send failed. */
  async release(r: Reservation): Promise<void> {
    if (r.deferred) {
      for (const key of r.keys) {
        const id = `${r.bucket}\u0000${key}`;
        if (this.pending.has(id)) this.pending.set(id, this.pending.get(id)! - 1);
      }
      return;
    }
    await this.db
      .updateTable('mail_quota')
      .set({ count: sql`count - 1` })
      .where('key', 'in', r.keys)
      .where('bucket', '=', r.bucket)
      .where('count', '>', 0)
      .execute();
  }

  private async prune(now: number): Promise<void> {
    await this.db
      .deleteFrom('mail_quota')
      .where('bucket', '<', now - 2 * DAY)
      .execute();
  }
}
