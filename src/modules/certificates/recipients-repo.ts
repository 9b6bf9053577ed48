/** Recipient rows: thin queries, one per method, each taking an optional transaction. */
import { sql, type ExpressionBuilder, type RawBuilder, type Selectable } from 'kysely';
import type { Database } from '../../platform/db/tables.js';
import type { DatabaseHandle, Executor } from '../../platform/db/index.js';
import { sqliteFast, sqliteIndexHint } from '../../platform/db/sqlite-fast.js';
import { compileOnce, slot } from '../../platform/db/compiled-query.js';
import type { RecipientTable } from './tables.js';
import './tables.js';
import { searchIndexerFor } from './search-indexer.js';
import { beginBulkWrites, type BulkWrites } from '../../platform/db/bulk-writes.js';

export type RecipientRow = Selectable<RecipientTable>;

/**
 * Who may get a notice: not unsubscribed from this campaign and not on the blocklist (a hard
 * bounce in any campaign). Applied where notices are picked and counted, so a skipped volunteer
 * never holds a send job open.
 */
export const mailable = (eb: ExpressionBuilder<Database, 'recipients'>) =>
  eb.and([
    eb('recipients.unsubscribed_at', 'is', null),
    eb.not(
      eb.exists(eb.selectFrom('mail_blocklist').select(sql.lit(1).as('one')).whereRef('mail_blocklist.email', '=', 'recipients.email')),
    ),
  ]);

/** A campaign's notices still to mail: imported (status 0), not failed, not unsubscribed or blocklisted. */
const stillToMail = (ex: Executor, campaignId: number) =>
  ex.selectFrom('recipients').where('campaign_id', '=', campaignId).where('status', '=', 0).where('failure', 'is', null).where(mailable);

export interface NewRecipient {
  email: string;
  number: string | null;
  name: string | null;
  status?: number;
  token_hash?: string | null;
  /** Custom field values (import-columns.ts). */
  fields?: Record<string, string> | null;
}

export interface RecipientQuery {
  q?: string;
  status?: number;
  failed?: boolean;
  /** Rows to skip (page numbers); 0 with a keyset. */
  offset: number;
  limit: number;
  /**
   * Keyset paging (issue 15: any page as fast as the first): rows after this id, read forwards
   * from there in the index, or before it, read backwards; `last`: the end, read backwards.
   */
  after?: number;
  before?: number;
  last?: boolean;
}

/** A page of rows in id order, and whether more match beyond it in the direction it was read. */
export interface RecipientPage {
  items: RecipientRow[];
  /** Read backwards (`before`, `last`): more before the first item; else more after the last. */
  more: boolean;
  total: number;
  totalCapped?: boolean;
  searchedRows?: number;
  /**
   * A search of 3+ characters while the search indexer catches up with more than
   * UNINDEXED_SEARCH_ROWS of the campaign's rows: this many of them at most (the ids between the
   * indexer's watermark and the newest rows searched) were not looked at.
   */
  indexingRows?: number;
}

/** Reads backwards (from `before` or the end) rather than forwards. */
const backwards = (q: RecipientQuery) => q.before !== undefined || q.last === true;

/**
 * The page's rows from `limit + 1` read in the query's direction: id order, and whether there
 * were more.
 */
function keysetPage(rows: RecipientRow[], q: RecipientQuery): { items: RecipientRow[]; more: boolean } {
  const items = rows.slice(0, q.limit);
  if (backwards(q)) items.reverse();
  return { items, more: rows.length > q.limit };
}

/** A row of the original's data.json: its status, link (hashed) and, from 2 on, an issue time and certificate id. */
export interface LegacyRecipient extends NewRecipient {
  status: number;
  token_hash: string | null;
  issued_at: number | null;
  certificate_id: string | null;
}

/** The small projection the claim lookup needs (the hot path of getUserInfo). */
export interface TokenHit {
  id: number;
  campaign_id: number;
  email: string;
  name: string | null;
  status: number;
  /** Why the latest mail to this volunteer failed (null when none did, or it went through since). */
  failure: string | null;
}

/** findByTokenHashWithCounter's raw row: TokenHit's columns in order, then the counter's count and reset_at (null without one). */
type TokenHitRow = [number, number, string, string | null, number, string | null, number | null, number | null];

/**
 * getUserInfo's lookup on SQLite (findByTokenHashWithCounter): the token's row and the client's
 * miss counter (parameters: the counter's key, then the token's hash). The row from its covering
 * index (migration 1510), named: without ANALYZE statistics SQLite's planner prefers the unique
 * token index, which leads into the table for the columns.
 */
export const TOKEN_LOOKUP_SQL =
  'SELECT r.id, r.campaign_id, r.email, r.name, r.status, r.failure, c.count, c.reset_at ' +
  'FROM recipients r INDEXED BY recipients_token_lookup LEFT JOIN attempt_counters c ON c.key = ? WHERE r.token_hash = ?';

/** Volunteers per status ("0" imported ... "4" certificate mailed). */
export type StatusCounts = Record<'0' | '1' | '2' | '3' | '4', number>;

/** Rows per multi-row INSERT through Kysely (PostgreSQL; legacy imports): 10 parameters each. */
const INSERT_CHUNK = 500;
/** Rows per prepared multi-row INSERT of SQLite's imports (9 parameters each, see insertRows). */
const SQLITE_INSERT_ROWS = 100;

function fieldsJson(f: Record<string, string> | null | undefined): string | null {
  return f && Object.keys(f).length ? JSON.stringify(f) : null;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const usesFts = (needle: string, dialect: string) => dialect !== 'postgres' && [...needle].length >= 3;
/** Most matches a search counts (beyond: `totalCapped`). */
export const SEARCH_COUNT_CAP = 10_000;
/**
 * A search of 1 or 2 characters (no trigram index serves it: each row is read) looks at this many
 * volunteers of the campaign at most, the first in list order: a bounded answer (~20 ms at
 * 1,000,000, where reading every row took ~1.7 s), which says how far it looked (`searchedRows`).
 */
export const SHORT_SEARCH_ROWS = 20_000;

/**
 * A search of 3+ characters right after a large import scans the campaign's rows the search
 * indexer has not reached yet (LIKE on each: 180-1,170 ms for 1,000,000 at load 5-10, issue 15),
 * so it looks at the newest this many of them only (6-19 ms at load 11; 50,000 took 11-29 ms, too
 * near the console's 50 ms once the indexer's batches share the loop), beside every indexed row,
 * and says how many it left out (`indexingRows`): the indexer works from the oldest up, so the gap
 * closes from below and the answer is complete again once it is through (~7 s for 1,000,000).
 */
export const UNINDEXED_SEARCH_ROWS = 20_000;

function capped(page: { items: RecipientRow[]; more: boolean }, n: number): RecipientPage {
  return n > SEARCH_COUNT_CAP ? { ...page, total: SEARCH_COUNT_CAP, totalCapped: true } : { ...page, total: n };
}

const ftsPhrase = (needle: string) => `"${needle.replace(/"/g, '""')}"`;

/**
 * SQLite search of 3 characters or more: driven by the trigram table, which yields matches in
 * rowid (= id) order, so a page stops after its rows (0.3 ms at 100,000 volunteers, however many
 * match) instead of sorting every match. Rows the background indexer (search-indexer.ts) has not
 * reached yet (ids above its watermark, found through (campaign_id, id)) are scanned and merged in,
 * the newest UNINDEXED_SEARCH_ROWS of them at most (the answer then says how many it left out);
 * only then are the matches sorted.
 */
async function ftsPage(campaignId: number, needle: string, q: RecipientQuery, ex: Executor) {
  const cond = [sql`r.campaign_id = ${campaignId}`];
  if (q.status !== undefined) cond.push(sql`r.status = ${q.status}`);
  if (q.failed) cond.push(sql`r.failure IS NOT NULL`);
  const filters = sql.join(cond, sql` AND `);
  // Whether rows wait for the indexer (ids above its watermark, migration 1480) and, when more
  // than UNINDEXED_SEARCH_ROWS of the campaign's do, the newest of those left out (`edge`): read
  // backwards through (campaign_id, id), ~1 ms.
  const waiting = await sql<{
    lo: number;
    edge: number | null;
  }>`SELECT p.indexed_to AS lo, (SELECT id FROM recipients WHERE campaign_id = ${campaignId} AND id > p.indexed_to
        ORDER BY id DESC LIMIT 1 OFFSET ${UNINDEXED_SEARCH_ROWS}) AS edge
      FROM recipients_search_progress p
      WHERE EXISTS (SELECT 1 FROM recipients WHERE campaign_id = ${campaignId} AND id > p.indexed_to)`.execute(ex);
  const dir = sql.raw(backwards(q) ? 'DESC' : 'ASC');
  // The keyset bound on the trigram table's rowid (or the id) keeps the read in id order from there.
  const bound = (order: RawBuilder<unknown>) =>
    q.after !== undefined ? sql` AND ${order} > ${q.after}` : q.before !== undefined ? sql` AND ${order} < ${q.before}` : sql``;
  if (waiting.rows.length === 0) {
    const from = sql`recipients_fts f JOIN recipients r ON r.id = f.rowid WHERE f.recipients_fts MATCH ${ftsPhrase(needle)} AND ${filters}`;
    const items = await sql<RecipientRow>`SELECT r.* FROM ${from}${bound(sql`f.rowid`)} ORDER BY f.rowid ${dir}
      LIMIT ${q.limit + 1} OFFSET ${q.offset}`.execute(ex);
    const n = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${from} LIMIT ${SEARCH_COUNT_CAP + 1})`.execute(ex);
    return capped(keysetPage(items.rows, q), Number(n.rows[0]?.n ?? 0));
  }
  const { lo, edge } = waiting.rows[0];
  const scanFrom = edge ?? lo;
  const like = `%${escapeLike(needle)}%`;
  // The trigram table folds case; LIKE folds ASCII case (as the short-needle search does). The
  // matching ids are found once (materialised) for both the page and the count: the LIKE scan of
  // the rows not indexed yet is most of such a search (two scans of ~1,000,000 right after an
  // import were two statements). One row always comes back: the count, and a page row or nulls.
  const from = sql`recipients r WHERE r.id IN (SELECT id FROM m) AND ${filters}`;
  const rows = await sql<RecipientRow & { matches__: number }>`WITH m(id) AS MATERIALIZED (
        SELECT rowid FROM recipients_fts WHERE recipients_fts MATCH ${ftsPhrase(needle)}
        UNION ALL
        SELECT id FROM recipients WHERE campaign_id = ${campaignId} AND id > ${scanFrom}
          AND (email LIKE ${like} ESCAPE '\\' OR name LIKE ${like} ESCAPE '\\' OR number LIKE ${like} ESCAPE '\\')),
      counted(n) AS (SELECT COUNT(*) FROM (SELECT 1 FROM ${from} LIMIT ${SEARCH_COUNT_CAP + 1})),
      pg AS (SELECT r.* FROM ${from}${bound(sql`r.id`)} ORDER BY r.id ${dir} LIMIT ${q.limit + 1} OFFSET ${q.offset})
    SELECT counted.n AS matches__, pg.* FROM counted LEFT JOIN pg ON 1 ORDER BY pg.id ${dir}`.execute(ex);
  const n = Number(rows.rows[0]?.matches__ ?? 0);
  const items = rows.rows.filter((r) => r.id !== null).map(({ matches__: _, ...r }) => r);
  const page = capped(keysetPage(items, q), n);
  // Part of the campaign not looked at: `total` counts the matches among the rest.
  return edge === null ? page : { ...page, indexingRows: edge - lo };
}

/** The search condition (see `page`). */
function searchCondition(needle: string, dialect: string) {
  const like = `%${escapeLike(needle)}%`;
  if (dialect === 'postgres') return sql<boolean>`(email ILIKE ${like} OR name ILIKE ${like} OR number ILIKE ${like})`;
  // SQLite needles of 3+ characters go through ftsPage (the trigram table alone would miss rows
  // the background indexer has not reached); this LIKE is complete for any length.
  return sql<boolean>`(email LIKE ${like} ESCAPE '\\' OR name LIKE ${like} ESCAPE '\\' OR number LIKE ${like} ESCAPE '\\')`;
}

/** Builds the recipient repository. The token lookup is compiled once (hot path: db/sqlite-fast.ts). */
export function createRecipientsRepo(handle: DatabaseHandle) {
  const db = handle.db;
  const fast = sqliteFast(handle);
  // SQLite: on the read-only connection when there is one (a file database): committed rows only,
  // the file mapped in memory (db/reader.ts).
  const byToken = fast.query(
    db
      .selectFrom('recipients as r')
      .select(['r.id', 'r.campaign_id', 'r.email', 'r.name', 'r.status', 'r.failure'])
      .where('r.token_hash', '=', ''),
    1,
    // SQLite (an in-memory database, which has no reader for TOKEN_LOOKUP_SQL): as that, the covering index.
    { on: 'reader', sqliteSql: sqliteIndexHint('recipients', 'r', 'recipients_token_lookup') },
  );
  // A claim's and its deliver job's reads and writes of one row, built and compiled once
  // (compiled-query.ts): each ran twice or more per certificate.
  const byId = compileOnce<RecipientRow, { id: number }>(db.selectFrom('recipients').selectAll().where('id', '=', slot<number>('id')));
  const claimName = compileOnce<RecipientRow, { id: number; name: string; certificateId: string; issuedAt: number; now: number }>(
    db
      .updateTable('recipients')
      .set({
        name: slot<string>('name'),
        status: 2,
        claimed_at: slot<number>('now'),
        issued_at: slot<number>('issuedAt'),
        certificate_id: slot<string>('certificateId'),
        failure: null,
        failed_at: null,
        updated_at: slot<number>('now'),
      })
      .where('id', '=', slot<number>('id'))
      .where('status', 'in', [0, 1])
      .returningAll(),
  );
  // cert_count and attempts: the given value, or (null) the row's own, so one statement serves
  // every call (the triggers watch status and the searched columns, not these).
  const statusTo = compileOnce<never, { id: number; status: number; now: number; certCount: number | null; attempts: number | null }>(
    db
      .updateTable('recipients')
      .set({
        status: slot<number>('status'),
        updated_at: slot<number>('now'),
        failure: null,
        failed_at: null,
        cert_count: sql<number>`coalesce(${slot<number | null>('certCount')}, cert_count)`,
        attempts: sql<number>`coalesce(${slot<number | null>('attempts')}, attempts)`,
      })
      .where('id', '=', slot<number>('id')),
  );
  // getUserInfo's two reads in one statement on the reader (SQLite files): the token's row and
  // the client's miss counter (attempt_counters, platform/limits), as an array per row. One
  // statement is one read transaction (its WAL and file locks are fcntl() calls) instead of two,
  // and no object per row: 4.3 -> 3.0 us per lookup (bare better-sqlite3, 100,000 volunteers).
  // The array comes as JSON text (`json`, sqlite-fast.ts): cheaper than better-sqlite3's raw row.
  const byTokenWithCounter = fast.statement<[string, string], TokenHitRow>(TOKEN_LOOKUP_SQL, { on: 'reader-only', json: true });
  // Imports on SQLite: prepared multi-row INSERTs of SQLITE_INSERT_ROWS rows (one statement of
  // the remainder's size per slice), run synchronously on the same connection, so inside the
  // caller's transaction. Building and preparing a Kysely statement per chunk was ~5x slower than
  // one prepared single-row statement per row; a prepared 100-row statement is ~25% less CPU than
  // that (100,000 rows: ~470 vs ~630 ms). RETURNING took the gain back, so which rows were added is
  // read back only when a slice added fewer than it had (ids only grow: the rows above the
  // slice's first id are its own, the write lock being held).
  const insertRows = (n: number) =>
    fast.statement<unknown[], never>(
      `INSERT INTO recipients (campaign_id, email, number, name, status, token_hash, fields, created_at, updated_at)
       VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`,
      { on: 'main' },
    );
  const insertFull = insertRows(SQLITE_INSERT_ROWS);
  const maxId = fast.statement<[], { n: number | null }>('SELECT MAX(id) AS n FROM recipients', { on: 'main' });
  const emailsAbove = fast.statement<[number, number], { email: string }>('SELECT email FROM recipients WHERE id > ? AND campaign_id = ?', {
    on: 'main',
  });
  // SQLite keeps the per-(campaign, status) counts of inserted rows here (migration 1470: no
  // per-row insert trigger); PostgreSQL's statement trigger counts them.
  const addCount = fast.statement<[number, number, number], never>(
    'INSERT INTO recipient_counts (campaign_id, status, n) VALUES (?, ?, ?) ON CONFLICT (campaign_id, status) DO UPDATE SET n = n + excluded.n',
    { on: 'main' },
  );
  /** SQLite: adds inserted rows to the kept counts, in the caller's transaction. */
  async function addCounts(campaignId: number, byStatus: Map<number, number>, ex: Executor): Promise<void> {
    if (handle.dialect !== 'sqlite' || byStatus.size === 0) return;
    await ex
      .insertInto('recipient_counts')
      .values([...byStatus].map(([status, n]) => ({ campaign_id: campaignId, status, n })))
      .onConflict((oc) => oc.columns(['campaign_id', 'status']).doUpdateSet({ n: sql`recipient_counts.n + excluded.n` }))
      .execute();
  }
  /**
   * A search of 1-2 characters, bounded: the matching ids among the campaign's first
   * SHORT_SEARCH_ROWS volunteers (one pass over them through the (campaign_id, id) index), then
   * the page's rows by id.
   */
  async function shortSearch(campaignId: number, needle: string, q: RecipientQuery, ex: Executor): Promise<RecipientPage> {
    const edge = await ex
      .selectFrom('recipients')
      .select('id')
      .where('campaign_id', '=', campaignId)
      .orderBy('id')
      .limit(1)
      .offset(SHORT_SEARCH_ROWS - 1)
      .executeTakeFirst();
    let ids = ex.selectFrom('recipients').select('id').where('campaign_id', '=', campaignId).where(searchCondition(needle, handle.dialect));
    if (edge) ids = ids.where('id', '<=', edge.id);
    if (q.status !== undefined) ids = ids.where('status', '=', q.status);
    if (q.failed) ids = ids.where('failure', 'is not', null);
    const all = (await ids.orderBy('id').execute()).map((r) => Number(r.id));
    // The page's ids (and one more, in the direction of reading) among the matches.
    let pageIds: number[];
    if (q.after !== undefined) pageIds = all.filter((id) => id > q.after!).slice(0, q.limit + 1);
    else if (backwards(q)) {
      const upTo = q.before === undefined ? all : all.filter((id) => id < q.before!);
      pageIds = upTo.slice(Math.max(0, upTo.length - q.limit - 1)).reverse();
    } else pageIds = all.slice(q.offset, q.offset + q.limit + 1);
    const more = pageIds.length > q.limit;
    pageIds = pageIds.slice(0, q.limit);
    const items = pageIds.length ? await ex.selectFrom('recipients').selectAll().where('id', 'in', pageIds).orderBy('id').execute() : [];
    if (!edge) return capped({ items, more }, all.length);
    // Looked at part of the campaign: the total is at least this.
    return { items, more, total: all.length, totalCapped: true, searchedRows: SHORT_SEARCH_ROWS };
  }
  // SQLite: new rows reach the search table through the background indexer (search-indexer.ts).
  const searchIndex = searchIndexerFor(handle);
  return {
    /** SQLite's search indexer (undefined on PostgreSQL): an import holds it, an insert wakes it. */
    searchIndex,
    /**
     * Inserts rows (`ON CONFLICT DO NOTHING`: SQLite through prepared 100-row statements,
     * PostgreSQL in multi-row chunks); answers how many were added and the emails of those that
     * were not (there already). The emails not added, not those added: usually none, so an
     * import of 1,000,000 keeps no set of a million emails (~0.5 us per row to fill and ask).
     */
    async insertMany(
      campaignId: number,
      rows: readonly NewRecipient[],
      now: number,
      ex: Executor = db,
      /** Where the emails not added go (an import's set across its slices). */
      skipped = new Set<string>(),
    ): Promise<{ added: number; skipped: Set<string> }> {
      if (handle.sqlite?.inTransaction && ex === db) {
        // Another request's transaction holds the connection (sqlite-fast.ts): wait for it, then
        // insert in a transaction of our own.
        return db.transaction().execute((trx) => this.insertMany(campaignId, rows, now, trx, skipped));
      }
      let added = 0;
      if (insertFull && maxId && emailsAbove && addCount && handle.sqlite) {
        // The rows and their counts together: a savepoint inside the caller's transaction.
        handle.sqlite.transaction(() => {
          const before = maxId.get()?.n ?? 0;
          let changes = 0;
          const params: unknown[] = [];
          for (let i = 0; i < rows.length; i += SQLITE_INSERT_ROWS) {
            const n = Math.min(SQLITE_INSERT_ROWS, rows.length - i);
            params.length = 0;
            for (let j = i; j < i + n; j++) {
              const r = rows[j];
              params.push(campaignId, r.email, r.number, r.name, r.status ?? 0, r.token_hash ?? null, fieldsJson(r.fields), now, now);
            }
            changes += (n === SQLITE_INSERT_ROWS ? insertFull : insertRows(n)!).run(...params);
          }
          const byStatus = new Map<number, number>();
          // Some were there already: the rows added are those above the slice's first id.
          const got = changes === rows.length ? undefined : new Set(emailsAbove.all(before, campaignId).map((r) => r.email));
          for (const r of rows) {
            if (got && !got.delete(r.email)) {
              skipped.add(r.email);
              continue;
            }
            const status = r.status ?? 0;
            byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
          }
          added = changes;
          for (const [status, n] of byStatus) addCount.run(campaignId, status, n);
        })();
        searchIndex?.wake();
        return { added, skipped };
      }
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK).map((r) => ({
          campaign_id: campaignId,
          email: r.email,
          number: r.number,
          name: r.name,
          status: r.status ?? 0,
          token_hash: r.token_hash ?? null,
          fields: fieldsJson(r.fields),
          created_at: now,
          updated_at: now,
        }));
        const res = await ex
          .insertInto('recipients')
          .values(chunk)
          .onConflict((oc) => oc.doNothing())
          .returning('email')
          .execute();
        added += res.length;
        if (res.length < chunk.length) {
          const got = new Set(res.map((r) => r.email));
          for (const r of chunk) if (!got.has(r.email)) skipped.add(r.email);
        }
      }
      return { added, skipped };
    },
    /**
     * Inserts data.json rows. Only an email already in the campaign makes a row a duplicate: a
     * token clash is the caller's to resolve first (a unique violation here means a concurrent
     * import took a token meanwhile, and the caller retries). Returns the ids of the rows added.
     */
    async insertLegacy(campaignId: number, rows: LegacyRecipient[], now: number, ex: Executor = db): Promise<Map<string, number>> {
      const added = new Map<string, number>();
      const byStatus = new Map<number, number>();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const res = await ex
          .insertInto('recipients')
          .values(
            rows.slice(i, i + INSERT_CHUNK).map((r) => ({
              campaign_id: campaignId,
              email: r.email,
              number: r.number,
              name: r.name,
              status: r.status,
              token_hash: r.token_hash,
              issued_at: r.issued_at,
              certificate_id: r.certificate_id,
              created_at: now,
              updated_at: now,
            })),
          )
          .onConflict((oc) => oc.columns(['campaign_id', 'email']).doNothing())
          .returning(['id', 'email', 'status'])
          .execute();
        for (const r of res) {
          added.set(r.email, Number(r.id));
          byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
        }
      }
      await addCounts(campaignId, byStatus, ex);
      searchIndex?.wake();
      return added;
    },
    /** Which of these token hashes some recipient (any campaign) holds already. */
    async takenTokenHashes(hashes: string[], ex: Executor = db): Promise<Set<string>> {
      const taken = new Set<string>();
      for (let i = 0; i < hashes.length; i += INSERT_CHUNK) {
        const part = hashes.slice(i, i + INSERT_CHUNK);
        if (part.length === 0) continue;
        for (const r of await ex.selectFrom('recipients').select('token_hash').where('token_hash', 'in', part).execute())
          if (r.token_hash) taken.add(r.token_hash);
      }
      return taken;
    },
    /** Which of these emails the campaign has already. */
    async knownEmails(campaignId: number, emails: string[], ex: Executor = db): Promise<Set<string>> {
      const known = new Set<string>();
      for (let i = 0; i < emails.length; i += INSERT_CHUNK) {
        const part = emails.slice(i, i + INSERT_CHUNK);
        if (part.length === 0) continue;
        for (const r of await ex
          .selectFrom('recipients')
          .select('email')
          .where('campaign_id', '=', campaignId)
          .where('email', 'in', part)
          .execute())
          known.add(r.email);
      }
      return known;
    },
    async findByTokenHash(hash: string): Promise<TokenHit | undefined> {
      return byToken.sqlite ? byToken.sqlite.get([hash]) : byToken.first([hash]);
    },
    /**
     * SQLite with a read-only connection (undefined elsewhere: findByTokenHash, then the limiter's
     * own read): the token's row and the attempt counter `counterKey` in one statement, one
     * snapshot; undefined when no row has the token.
     */
    findByTokenHashWithCounter: byTokenWithCounter
      ? (hash: string, counterKey: string): { hit: TokenHit; counter: { count: number; reset_at: number } | undefined } | undefined => {
          const r = byTokenWithCounter.get(counterKey, hash);
          if (!r) return undefined;
          const hit: TokenHit = { id: r[0], campaign_id: r[1], email: r[2], name: r[3], status: r[4], failure: r[5] };
          return { hit, counter: r[6] === null ? undefined : { count: r[6], reset_at: r[7]! } };
        }
      : undefined,
    async findById(id: number, ex: Executor = db): Promise<RecipientRow | undefined> {
      return byId.first(ex, { id });
    },
    async findByEmail(campaignId: number, email: string, ex: Executor = db): Promise<RecipientRow | undefined> {
      return ex.selectFrom('recipients').selectAll().where('campaign_id', '=', campaignId).where('email', '=', email).executeTakeFirst();
    },
    async findByCertificateId(certId: string, ex: Executor = db): Promise<RecipientRow | undefined> {
      return ex.selectFrom('recipients').selectAll().where('certificate_id', '=', certId).executeTakeFirst();
    },
    /**
     * A page of recipients. `q` finds a substring of the email, name or number: SQLite through the
     * FTS5 trigram table (3 characters or more; shorter ones scan the campaign's rows), PostgreSQL
     * through ILIKE on pg_trgm GIN indexes.
     */
    async page(campaignId: number, q: RecipientQuery, ex: Executor = db): Promise<RecipientPage> {
      const needle = q.q?.trim().normalize('NFC');
      if (needle && [...needle].length < 3) return shortSearch(campaignId, needle, q, ex);
      if (needle && usesFts(needle, handle.dialect)) return ftsPage(campaignId, needle, q, ex);
      let base = ex.selectFrom('recipients').where('campaign_id', '=', campaignId);
      if (needle) base = base.where(searchCondition(needle, handle.dialect));
      if (q.status !== undefined) base = base.where('status', '=', q.status);
      if (q.failed) base = base.where('failure', 'is not', null);
      // A search counts its matches up to a cap: "10,000+" is as useful as the exact figure and
      // costs a tenth of counting 100,000 matches. Without a search or the failed filter, the total
      // is read from the kept counts (migrations 1310, 1470): counting a campaign's rows
      // costs ~150 ms at 1,000,000.
      let counted = ex.selectFrom('recipient_counts').where('campaign_id', '=', campaignId);
      if (q.status !== undefined) counted = counted.where('status', '=', q.status);
      const count = needle
        ? ex
            .selectFrom(
              base
                .select(sql<number>`1`.as('one'))
                .limit(SEARCH_COUNT_CAP + 1)
                .as('m'),
            )
            .select((eb) => eb.fn.countAll<number>().as('n'))
        : q.failed
          ? base.select((eb) => eb.fn.countAll<number>().as('n'))
          : counted.select((eb) => eb.fn.coalesce(eb.fn.sum<number>('n'), eb.lit(0)).as('n'));
      // A keyset page starts where the index is entered at its bound, forwards or backwards: page
      // 10,000 of 1,000,000 costs what the first does. By page number, a deep page skips index
      // entries, not rows: the ids come from the covering (campaign_id[, status], id) index, then
      // only the page's rows are read (SQLite read every skipped row: page 10,000 of 1,000,000
      // took ~120 ms); still one index entry per skipped row (~170 ms there).
      const keyed = q.after !== undefined || backwards(q);
      let rows;
      if (keyed) {
        let k = base.selectAll();
        if (q.after !== undefined) k = k.where('id', '>', q.after);
        if (q.before !== undefined) k = k.where('id', '<', q.before);
        rows = k
          .orderBy('id', backwards(q) ? 'desc' : 'asc')
          .limit(q.limit + 1)
          .execute();
      } else if (needle)
        rows = base
          .selectAll()
          .orderBy('id')
          .limit(q.limit + 1)
          .offset(q.offset)
          .execute();
      else {
        // The total first (the kept counts, or the failed rows' partial index): a page past the
        // middle is read backwards from the end, skipping the fewer entries (the last page of
        // 1,000,000 by number: ~84 -> ~5 ms); the deepest page is then the middle one.
        const total = Number((await count.executeTakeFirstOrThrow()).n);
        if (q.status === undefined && !q.failed && q.offset > 0 && q.offset < total) {
          // A campaign whose ids are one unbroken range (imported in one go, none deleted since:
          // as many ids from its first to its last as it has rows) holds row `offset` at first id
          // + offset: the page is read from there, like a cursor's, with no walk at all (the
          // middle page of 1,000,000: ~25-70 ms walking). Any gap: the walk below.
          const edge = (dir: 'asc' | 'desc') =>
            ex.selectFrom('recipients').select('id').where('campaign_id', '=', campaignId).orderBy('id', dir).limit(1).executeTakeFirst();
          const lo = await edge('asc');
          const hi = await edge('desc');
          if (lo && hi && Number(hi.id) - Number(lo.id) + 1 === total) {
            const from = Number(lo.id) + q.offset;
            const items = await base
              .selectAll()
              .where('id', '>=', from)
              .where('id', '<=', from + q.limit)
              .orderBy('id')
              .execute();
            return { ...keysetPage(items, q), total };
          }
        }
        const fromEnd = total - q.offset;
        const back = q.offset > total / 2 && fromEnd > 0;
        // Backwards: the page's rows and the one after it (if any) are the `take` entries that
        // end `skip` entries before the end.
        const skip = back ? Math.max(0, fromEnd - q.limit - 1) : q.offset;
        const take = back ? fromEnd - skip : q.limit + 1;
        const items = await ex
          .selectFrom('recipients')
          .selectAll()
          .where(
            'id',
            'in',
            base
              .select('id')
              .orderBy('id', back ? 'desc' : 'asc')
              .limit(take)
              .offset(skip),
          )
          .orderBy('id')
          .execute();
        return { ...keysetPage(items, q), total };
      }
      const [items, total] = await Promise.all([rows, count.executeTakeFirstOrThrow()]);
      const page = keysetPage(items, q);
      return needle ? capped(page, Number(total.n)) : { ...page, total: Number(total.n) };
    },
    /**
     * SQLite: a bulk write begins (an import of many rows): checkpoints move to a worker thread
     * until `end()` (platform/db/bulk-writes.ts); a no-op elsewhere.
     */
    bulkWrites(): BulkWrites {
      return beginBulkWrites(handle);
    },
    /** Keyset page for streaming exports. */
    async after(campaignId: number, afterId: number, limit: number, ex: Executor = db): Promise<RecipientRow[]> {
      return ex
        .selectFrom('recipients')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
    },
    /** Next notices to send: status 0, not failed, due (keyset by id). */
    async dueNotices(campaignId: number, afterId: number, limit: number, now: number, ex: Executor = db): Promise<RecipientRow[]> {
      return stillToMail(ex, campaignId)
        .selectAll()
        .where('id', '>', afterId)
        .where((eb) => eb.or([eb('retry_at', 'is', null), eb('retry_at', '<=', now)]))
        .orderBy('id')
        .limit(limit)
        .execute();
    },
    /** Id buckets (`id / width`) holding notices still to send: the campaign's batches. */
    async noticeBuckets(campaignId: number, width: number, ex: Executor = db): Promise<number[]> {
      const rows = await stillToMail(ex, campaignId)
        .select(sql<number>`id / ${sql.lit(width)}`.as('b'))
        .distinct()
        .orderBy('b')
        .execute();
      return rows.map((r) => Number(r.b));
    },
    /** The notices of one batch (ids in [lo, hi)) still to send, due or not. */
    async noticesInRange(campaignId: number, lo: number, hi: number, ex: Executor = db): Promise<RecipientRow[]> {
      return stillToMail(ex, campaignId).selectAll().where('id', '>=', lo).where('id', '<', hi).orderBy('id').execute();
    },
    /**
     * The attempting marker: takes this notice for `by` until `until`, unless another instance holds
     * it (a batch whose lease ran out while its holder still sends); answers whether it is ours.
     */
    async claimSend(id: number, by: string, until: number, now: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('recipients')
        .set({ sending_by: by, sending_until: until })
        .where('id', '=', id)
        .where('status', '=', 0)
        .where((eb) => eb.or([eb('sending_until', 'is', null), eb('sending_until', '<', now), eb('sending_by', '=', by)]))
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    /**
     * Sent, claimed and failed per bucket of `bucketMs` since `since` (oldest first, empty buckets
     * left out), each read through its partial index (migration 1460); and `sentAfter`, the notices
     * accepted after `paceSince` (the fleet's pace; `paceSince` >= `since`, counted by the same query).
     */
    async history(
      campaignId: number,
      since: number,
      bucketMs: number,
      paceSince: number,
      ex: Executor = db,
    ): Promise<{ buckets: Array<{ at: number; sent: number; claimed: number; failed: number }>; sentAfter: number }> {
      if (paceSince < since) throw new Error('history: paceSince before since');
      const kinds = [
        ['sent', 'noticed_at'],
        ['claimed', 'claimed_at'],
        ['failed', 'failed_at'],
      ] as const;
      const out = new Map<number, { at: number; sent: number; claimed: number; failed: number }>();
      let sentAfter = 0;
      for (const [kind, col] of kinds) {
        // A literal, not a parameter: PostgreSQL matches the GROUP BY to the select list by text.
        const bucket = sql<number>`(${sql.ref(col)} / ${sql.lit(Math.trunc(bucketMs))})`;
        const rows = await ex
          .selectFrom('recipients')
          .select([
            bucket.as('b'),
            (eb) => eb.fn.countAll<number>().as('n'),
            sql<number>`sum(case when ${sql.ref(col)} > ${paceSince} then 1 else 0 end)`.as('recent'),
          ])
          .where('campaign_id', '=', campaignId)
          .where(col, '>=', since)
          .groupBy(bucket)
          .execute();
        for (const r of rows) {
          const at = Math.floor(Number(r.b)) * bucketMs;
          const e = out.get(at) ?? { at, sent: 0, claimed: 0, failed: 0 };
          e[kind] += Number(r.n);
          out.set(at, e);
          if (kind === 'sent') sentAfter += Number(r.recent);
        }
      }
      return { buckets: [...out.values()].sort((a, b) => a.at - b.at), sentAfter };
    },
    /** Failed notices back to the queue (status 0, attempts reset, same link); answers how many. */
    async retryFailedNotices(campaignId: number, now: number, ex: Executor = db): Promise<number> {
      const r = await ex
        .updateTable('recipients')
        .set({ failure: null, failed_at: null, retry_at: null, attempts: 0, updated_at: now })
        .where('campaign_id', '=', campaignId)
        .where('status', '=', 0)
        .where('failure', 'is not', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    },
    /** Earliest retry time among notices still waiting (status 0, not failed); null when none wait. */
    async pendingNotices(campaignId: number, ex: Executor = db): Promise<{ n: number; nextAt: number | null }> {
      const r = await stillToMail(ex, campaignId)
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min<number | null>('retry_at').as('next_at')])
        .executeTakeFirstOrThrow();
      return { n: Number(r.n), nextAt: r.next_at === null ? null : Number(r.next_at) };
    },
    /** Whether any notice is still to mail (one index probe, where counting them reads every one). */
    async anyToSend(campaignId: number, ex: Executor = db): Promise<boolean> {
      const r = await stillToMail(ex, campaignId).select('id').limit(1).executeTakeFirst();
      return r !== undefined;
    },
    async countToSend(campaignId: number, ex: Executor = db): Promise<number> {
      const r = await stillToMail(ex, campaignId)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    /** Writes the link token (hash, and the sealed token while the notice is in flight). */
    async setPendingToken(id: number, tokenHash: string, sealed: string, now: number, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('recipients')
        .set({ token_hash: tokenHash, pending_token: sealed, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    /** Writes link tokens for many rows in one statement: [id, token hash, sealed token]. */
    async setPendingTokens(rows: [number, string, string][], now: number, ex: Executor = db): Promise<void> {
      if (rows.length === 0) return;
      const hashCase = sql.join(
        rows.map(([id, h]) => sql`WHEN ${id} THEN ${h}`),
        sql` `,
      );
      const sealedCase = sql.join(
        rows.map(([id, , p]) => sql`WHEN ${id} THEN ${p}`),
        sql` `,
      );
      await sql`UPDATE recipients SET token_hash = CASE id ${hashCase} END, pending_token = CASE id ${sealedCase} END, updated_at = ${now}
        WHERE id IN (${sql.join(rows.map(([id]) => id))})`.execute(ex);
    },
    /**
     * Notices accepted by the SMTP server, in one statement: status 1, notice_count + 1, the sealed
     * token goes. Only rows still carrying their pending token count, so a repeat changes nothing.
     */
    async markNoticesSent(ids: number[], now: number, ex: Executor = db): Promise<void> {
      if (ids.length === 0) return;
      await ex
        .updateTable('recipients')
        // The sealed link moves to link_sealed: a reminder or a reset mails the same link again.
        .set({
          status: sql`CASE WHEN status = 0 THEN 1 ELSE status END`,
          notice_count: sql`notice_count + 1`,
          link_sealed: sql`pending_token`,
          pending_token: null,
          retry_at: null,
          attempts: 0,
          failure: null,
          failed_at: null,
          noticed_at: now,
          updated_at: now,
        })
        .where('id', 'in', ids)
        .where('pending_token', 'is not', null)
        .execute();
    },
    /** The SMTP server accepted the notice: status 1, the link stays, the sealed copy goes. */
    async markNoticeSent(id: number, noticeCount: number, now: number, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('recipients')
        .set({
          status: sql`CASE WHEN status = 0 THEN 1 ELSE status END`,
          notice_count: noticeCount,
          link_sealed: sql`COALESCE(pending_token, link_sealed)`,
          pending_token: null,
          retry_at: null,
          attempts: 0,
          failure: null,
          failed_at: null,
          noticed_at: now,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },
    /** A temporary failure: try this notice again not before `retryAt` (same link, same Message-ID). */
    async scheduleNoticeRetry(id: number, attempts: number, retryAt: number, now: number, ex: Executor = db): Promise<void> {
      await ex.updateTable('recipients').set({ attempts, retry_at: retryAt, updated_at: now }).where('id', '=', id).execute();
    },
    async markFailed(id: number, reason: string, now: number, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('recipients')
        .set({ failure: reason.slice(0, 1000), failed_at: now, retry_at: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    /**
     * Stores the name and moves 0/1 -> 2 with the credential the claim issues (credentials/issue.ts
     * decides: the one already held, or a new one); false when the recipient was not at 0 or 1.
     */
    /** The claim's write; answers the row as written (undefined when it was past 1), so no read follows the claim. */
    async submitName(
      id: number,
      name: string,
      certificateId: string,
      issuedAt: number,
      now: number,
      ex: Executor = db,
    ): Promise<RecipientRow | undefined> {
      return claimName.first(ex, { id, name, certificateId, issuedAt, now });
    },
    async setStatus(
      id: number,
      status: number,
      now: number,
      extra: { cert_count?: number; attempts?: number } = {},
      ex: Executor = db,
    ): Promise<void> {
      await statusTo.run(ex, { id, status, now, certCount: extra.cert_count ?? null, attempts: extra.attempts ?? null });
    },
    /**
     * Sets a status and clears failures; the link and any issued credential stay. To 2 or more: an
     * issue time and a certificate id are fixed if missing (rows imported from the original at those
     * statuses; the caller writes their credential row).
     */
    async reset(id: number, status: number, now: number, certificateId: string, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('recipients')
        .set({
          status,
          failure: null,
          failed_at: null,
          retry_at: null,
          attempts: 0,
          // Back to 0 the link the volunteer holds stays: the next send mails it again (the sender
          // reuses a pending token whose hash matches). Links mailed before links were kept
          // (link_sealed null) are replaced by that send.
          pending_token: status === 0 ? sql`link_sealed` : null,
          ...(status >= 2
            ? { issued_at: sql`COALESCE(issued_at, ${now})`, certificate_id: sql`COALESCE(certificate_id, ${certificateId})` }
            : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },
    /** A corrected name: the new credential becomes current and is delivered again (status 2). */
    async reissued(id: number, name: string, certificateId: string, now: number, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('recipients')
        .set({ name, certificate_id: certificateId, status: 2, issued_at: now, failure: null, failed_at: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    /** Volunteers per status, and how many carry a failure. */
    async counts(campaignId: number, ex: Executor = db): Promise<{ byStatus: StatusCounts; failed: number }> {
      // The kept counts (migrations 1310, 1470) and the failed rows through their partial
      // index: no pass over the campaign's rows (1,000,000 of them took ~0.5 s).
      const [rows, f] = await Promise.all([
        ex.selectFrom('recipient_counts').select(['status', 'n']).where('campaign_id', '=', campaignId).execute(),
        ex
          .selectFrom('recipients')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('campaign_id', '=', campaignId)
          .where('failure', 'is not', null)
          .executeTakeFirstOrThrow(),
      ]);
      const byStatus: StatusCounts = { '0': 0, '1': 0, '2': 0, '3': 0, '4': 0 };
      for (const r of rows) {
        const k = String(r.status);
        if (k in byStatus) byStatus[k as keyof StatusCounts] = Number(r.n);
      }
      return { byStatus, failed: Number(f.n) };
    },
    async latestFailures(
      campaignId: number,
      limit: number,
      ex: Executor = db,
    ): Promise<{ email: string; failure: string | null; failed_at: number | null }[]> {
      return ex
        .selectFrom('recipients')
        .select(['email', 'failure', 'failed_at'])
        .where('campaign_id', '=', campaignId)
        .where('failure', 'is not', null)
        .orderBy('failed_at', 'desc')
        .limit(limit)
        .execute();
    },
    /** A certificate mail failed for now: the reason is shown (query, console, the volunteer) while it is retried. */
    async noteDeliveryFailure(id: number, reason: string, now: number, ex: Executor = db): Promise<number> {
      const r = await ex
        .updateTable('recipients')
        .set({ failure: reason.slice(0, 2000), failed_at: now, attempts: sql`attempts + 1`, updated_at: now })
        .where('id', '=', id)
        .where('status', 'in', [2, 3])
        .returning('attempts')
        .executeTakeFirst();
      return r?.attempts ?? 0;
    },
    /** Certificate mails of a campaign that failed (status 2-3 with a failure): for the bulk retry. */
    async failedDeliveries(campaignId: number, ex: Executor = db): Promise<{ id: number }[]> {
      return ex
        .selectFrom('recipients')
        .select('id')
        .where('campaign_id', '=', campaignId)
        .where('status', 'in', [2, 3])
        .where('failure', 'is not', null)
        .execute();
    },
    /** Recipients left at 2 or 3 (their deliver job is re-enqueued at start if it was lost). */
    async awaitingDelivery(limit: number, ex: Executor = db): Promise<{ id: number }[]> {
      // In literals, as the partial index recipients_awaiting_delivery says it (migration 1490):
      // SQLite uses a partial index only for a condition it can see implies the index's.
      return ex
        .selectFrom('recipients')
        .select('id')
        .where(sql<boolean>`status IN (2, 3) AND failure IS NULL`)
        .limit(limit)
        .execute();
    },
  };
}

export type RecipientsRepo = ReturnType<typeof createRecipientsRepo>;
