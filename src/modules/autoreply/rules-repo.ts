/** Rule sets, rules, keywords and replies: thin queries, each with an optional transaction. */
import { sql, type Selectable } from 'kysely';
import type { DB, Executor } from '../../platform/db/index.js';
import type { RuleSetTable } from './tables.js';
import { fromRow, toRow, type Reply } from './replies.js';
import './tables.js';

export type RuleSetRow = Selectable<RuleSetTable>;

/** Rows per multi-row INSERT (7 columns: well under SQLite's and PostgreSQL's parameter limits). */
const INSERT_CHUNK = 500;

/** A rule's keyword rows and reply rows, as stored (one rule's edit and a whole import alike). */
const keywordRows = (setId: number, ruleId: number, rule: NewRule) =>
  rule.keywords.map((k) => ({ rule_id: ruleId, rule_set_id: setId, text: k.text, norm: k.norm, match: k.match }));
const replyRows = (ruleId: number, rule: NewRule) => rule.replies.map((r, position) => ({ rule_id: ruleId, position, ...toRow(r) }));

export interface RuleRecord {
  id: number;
  ruleSetId: number;
  position: number;
  mode: 'all' | 'random';
  name: string | null;
  keywords: { text: string; norm: string; match: 'equal' | 'contains' }[];
  replies: Reply[];
  createdAt: number;
  updatedAt: number;
}

export interface NewRule {
  mode: 'all' | 'random';
  name: string | null;
  keywords: { text: string; norm: string; match: 'equal' | 'contains' }[];
  replies: Reply[];
}

/** A rule's size for the per-member cap: UTF-8 bytes of its name, keywords and replies as stored. */
export function ruleBytes(rule: NewRule): number {
  let n = Buffer.byteLength(rule.name ?? '');
  for (const k of rule.keywords) n += Buffer.byteLength(k.text);
  for (const r of rule.replies) {
    const row = toRow(r);
    n += Buffer.byteLength(row.text) + Buffer.byteLength(row.data ?? '');
  }
  return n;
}

/** A page of a set's rules: optional search (names, keywords, replies), limit and offset in SQL. */
export interface RulePageQuery {
  q?: string;
  limit: number;
  offset: number;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function createRulesRepo(db: DB) {
  return {
    async insertMemberSet(userId: number, now: number, x: Executor = db): Promise<void> {
      await x
        .insertInto('ar_rule_sets')
        .values({ kind: 'member', user_id: userId, enabled: 1, next_position: 1, version: 1, created_at: now, updated_at: now })
        .onConflict((oc) => oc.doNothing())
        .execute();
    },
    async insertAccountSet(userId: number, now: number, x: Executor = db): Promise<number> {
      const r = await x
        .insertInto('ar_rule_sets')
        .values({ kind: 'account', user_id: userId, enabled: 1, next_position: 1, version: 1, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    },
    findMemberSet(userId: number, x: Executor = db): Promise<RuleSetRow | undefined> {
      return x.selectFrom('ar_rule_sets').selectAll().where('kind', '=', 'member').where('user_id', '=', userId).executeTakeFirst();
    },
    findSet(id: number, x: Executor = db): Promise<RuleSetRow | undefined> {
      return x.selectFrom('ar_rule_sets').selectAll().where('id', '=', id).executeTakeFirst();
    },
    /** Versions and switches of several sets in one query (cache revalidation). */
    findSets(ids: number[], x: Executor = db): Promise<RuleSetRow[]> {
      return x.selectFrom('ar_rule_sets').selectAll().where('id', 'in', ids).execute();
    },
    /** Takes the next position and bumps the version in one statement; answers the position taken. */
    async bumpVersion(setId: number, now: number, x: Executor = db): Promise<void> {
      await x
        .updateTable('ar_rule_sets')
        .set((eb) => ({ version: eb('version', '+', 1), updated_at: now }))
        .where('id', '=', setId)
        .execute();
    },
    async updateSettings(
      setId: number,
      s: { enabled?: boolean; follow_reply?: string | null; default_reply?: string | null },
      now: number,
      x: Executor = db,
    ): Promise<void> {
      await x
        .updateTable('ar_rule_sets')
        .set((eb) => ({
          ...(s.enabled === undefined ? {} : { enabled: s.enabled ? 1 : 0 }),
          ...(s.follow_reply === undefined ? {} : { follow_reply: s.follow_reply }),
          ...(s.default_reply === undefined ? {} : { default_reply: s.default_reply }),
          version: eb('version', '+', 1),
          updated_at: now,
        }))
        .where('id', '=', setId)
        .execute();
    },
    async deleteSet(setId: number, x: Executor = db): Promise<void> {
      await x.deleteFrom('ar_rule_sets').where('id', '=', setId).execute();
    },
    /**
     * Adds rules at the end of the set in a few statements whatever their number: the positions
     * taken at once, then rules, keywords and replies in multi-row INSERTs of INSERT_CHUNK rows.
     * An import of 5,000 rules made ~20,000 statements one rule at a time (bench/rules-import.bench.ts:
     * PostgreSQL 14.9 s, 67x the same rows in plain multi-row INSERTs). Answers the ids in order.
     */
    async insertRules(setId: number, rules: NewRule[], now: number, x: Executor = db): Promise<number[]> {
      if (rules.length === 0) return [];
      const r = await x
        .updateTable('ar_rule_sets')
        .set((eb) => ({ next_position: eb('next_position', '+', rules.length), version: eb('version', '+', 1), updated_at: now }))
        .where('id', '=', setId)
        .returning('next_position')
        .executeTakeFirstOrThrow();
      const first = Number(r.next_position) - rules.length;
      const idAt = new Map<number, number>();
      for (let i = 0; i < rules.length; i += INSERT_CHUNK) {
        const rows = rules.slice(i, i + INSERT_CHUNK).map((rule, j) => ({
          rule_set_id: setId,
          position: first + i + j,
          mode: rule.mode,
          name: rule.name,
          bytes: ruleBytes(rule),
          created_at: now,
          updated_at: now,
        }));
        // RETURNING's row order is not promised: ids are matched by position (unique in the set).
        for (const row of await x.insertInto('ar_rules').values(rows).returning(['id', 'position']).execute()) {
          idAt.set(Number(row.position), Number(row.id));
        }
      }
      const ids = rules.map((_, i) => idAt.get(first + i)!);
      const keywords = rules.flatMap((rule, i) => keywordRows(setId, ids[i], rule));
      const replies = rules.flatMap((rule, i) => replyRows(ids[i], rule));
      for (let i = 0; i < keywords.length; i += INSERT_CHUNK) {
        await x
          .insertInto('ar_rule_keywords')
          .values(keywords.slice(i, i + INSERT_CHUNK))
          .execute();
      }
      for (let i = 0; i < replies.length; i += INSERT_CHUNK) {
        await x
          .insertInto('ar_rule_replies')
          .values(replies.slice(i, i + INSERT_CHUNK))
          .execute();
      }
      return ids;
    },
    async insertParts(setId: number, ruleId: number, rule: NewRule, x: Executor = db): Promise<void> {
      await x
        .insertInto('ar_rule_keywords')
        .values(keywordRows(setId, ruleId, rule))
        .execute();
      await x.insertInto('ar_rule_replies').values(replyRows(ruleId, rule)).execute();
    },
    async deleteParts(ruleId: number, x: Executor = db): Promise<void> {
      await x.deleteFrom('ar_rule_keywords').where('rule_id', '=', ruleId).execute();
      await x.deleteFrom('ar_rule_replies').where('rule_id', '=', ruleId).execute();
    },
    async touchRule(ruleId: number, rule: NewRule, now: number, x: Executor = db): Promise<void> {
      await x
        .updateTable('ar_rules')
        .set({ mode: rule.mode, name: rule.name, bytes: ruleBytes(rule), updated_at: now })
        .where('id', '=', ruleId)
        .execute();
    },
    /**
     * Takes the member's lock for a change that the per-member caps guard: a write on the
     * member's own rule set row, held until the transaction ends (a row lock on PostgreSQL; SQLite
     * has one writer anyway). Two parallel changes of one member are checked one after the other.
     */
    async lockMember(userId: number, x: Executor): Promise<void> {
      await x
        .updateTable('ar_rule_sets')
        .set((eb) => ({ version: eb.ref('version') }))
        .where('kind', '=', 'member')
        .where('user_id', '=', userId)
        .execute();
    },
    /** Rules and their bytes over every rule set of a member (own and connected accounts'). */
    async memberUsage(userId: number, x: Executor = db): Promise<{ rules: number; bytes: number }> {
      const r = await x
        .selectFrom('ar_rules')
        .innerJoin('ar_rule_sets', 'ar_rule_sets.id', 'ar_rules.rule_set_id')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('ar_rules.bytes'), sql<number>`0`).as('b')])
        .where('ar_rule_sets.user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return { rules: Number(r.n), bytes: Number(r.b) };
    },
    async deleteRule(ruleId: number, x: Executor = db): Promise<void> {
      await x.deleteFrom('ar_rule_keywords').where('rule_id', '=', ruleId).execute();
      await x.deleteFrom('ar_rule_replies').where('rule_id', '=', ruleId).execute();
      await x.deleteFrom('ar_rules').where('id', '=', ruleId).execute();
    },
    async deleteAllRules(setId: number, x: Executor = db): Promise<void> {
      await x.deleteFrom('ar_rule_keywords').where('rule_set_id', '=', setId).execute();
      await x
        .deleteFrom('ar_rule_replies')
        .where('rule_id', 'in', (eb) => eb.selectFrom('ar_rules').select('id').where('rule_set_id', '=', setId))
        .execute();
      await x.deleteFrom('ar_rules').where('rule_set_id', '=', setId).execute();
    },
    async countRules(setId: number, x: Executor = db): Promise<number> {
      const r = await x
        .selectFrom('ar_rules')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('rule_set_id', '=', setId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    findRuleIdByPosition(setId: number, position: number, x: Executor = db) {
      return x.selectFrom('ar_rules').select('id').where('rule_set_id', '=', setId).where('position', '=', position).executeTakeFirst();
    },
    findRuleIdByKeyword(setId: number, norm: string, x: Executor = db) {
      return x
        .selectFrom('ar_rule_keywords')
        .select('rule_id')
        .where('rule_set_id', '=', setId)
        .where('norm', '=', norm)
        .executeTakeFirst();
    },
    findRule(ruleId: number, x: Executor = db) {
      return x.selectFrom('ar_rules').selectAll().where('id', '=', ruleId).executeTakeFirst();
    },
    /** Norms of a set already used by rules other than `exceptRuleId`, among `norms`. */
    async takenNorms(setId: number, norms: string[], exceptRuleId: number | null, x: Executor = db): Promise<string[]> {
      if (!norms.length) return [];
      let q = x.selectFrom('ar_rule_keywords').select('norm').where('rule_set_id', '=', setId).where('norm', 'in', norms);
      if (exceptRuleId !== null) q = q.where('rule_id', '<>', exceptRuleId);
      return (await q.execute()).map((r) => r.norm);
    },
    /**
     * One page of a set's rules by position, searched in SQL (names, keywords and replies,
     * case-insensitive for ASCII on SQLite and fully on PostgreSQL), with the total that match.
     * Only the page's keywords and replies are read.
     */
    async pageRules(setId: number, p: RulePageQuery, x: Executor = db): Promise<{ total: number; rules: RuleRecord[] }> {
      let base = x.selectFrom('ar_rules').where('ar_rules.rule_set_id', '=', setId);
      const q = p.q?.trim().toLowerCase();
      if (q) {
        const like = `%${escapeLike(q)}%`;
        base = base.where((eb) =>
          eb.or([
            sql<boolean>`LOWER(ar_rules.name) LIKE ${like} ESCAPE '\\'`,
            eb.exists(
              eb
                .selectFrom('ar_rule_keywords as k')
                .select('k.id')
                .whereRef('k.rule_id', '=', 'ar_rules.id')
                .where(sql<boolean>`LOWER(k.text) LIKE ${like} ESCAPE '\\'`),
            ),
            eb.exists(
              eb
                .selectFrom('ar_rule_replies as p')
                .select('p.id')
                .whereRef('p.rule_id', '=', 'ar_rules.id')
                .where(sql<boolean>`(LOWER(p.text) LIKE ${like} ESCAPE '\\' OR LOWER(COALESCE(p.data, '')) LIKE ${like} ESCAPE '\\')`),
            ),
          ]),
        );
      }
      const [ids, total] = await Promise.all([
        base.select('ar_rules.id').orderBy('ar_rules.position').limit(p.limit).offset(p.offset).execute(),
        base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return {
        total: Number(total.n),
        rules: await this.rulesByIds(
          setId,
          ids.map((r) => Number(r.id)),
          x,
        ),
      };
    },
    /** Keyset page by position (streamed exports): the next `limit` rules after `afterPosition`. */
    async rulesAfter(setId: number, afterPosition: number, limit: number, x: Executor = db): Promise<RuleRecord[]> {
      const ids = await x
        .selectFrom('ar_rules')
        .select('id')
        .where('rule_set_id', '=', setId)
        .where('position', '>', afterPosition)
        .orderBy('position')
        .limit(limit)
        .execute();
      return this.rulesByIds(
        setId,
        ids.map((r) => Number(r.id)),
        x,
      );
    },
    /** Every rule of a set with its keywords and replies, by position (three queries, not one per rule). */
    async listRules(setId: number, x: Executor = db): Promise<RuleRecord[]> {
      return this.rulesByIds(setId, null, x);
    },
    /** Rules of a set (all of them when `only` is null) with keywords and replies, by position. */
    async rulesByIds(setId: number, only: number[] | null, x: Executor = db): Promise<RuleRecord[]> {
      if (only && !only.length) return [];
      let rq = x.selectFrom('ar_rules').selectAll().where('rule_set_id', '=', setId);
      if (only) rq = rq.where('id', 'in', only);
      const rules = await rq.orderBy('position').execute();
      if (!rules.length) return [];
      let kq = x.selectFrom('ar_rule_keywords').select(['rule_id', 'text', 'norm', 'match']).where('rule_set_id', '=', setId);
      if (only) kq = kq.where('rule_id', 'in', only);
      const kws = await kq.orderBy('id').execute();
      let pq = x
        .selectFrom('ar_rule_replies')
        .innerJoin('ar_rules', 'ar_rules.id', 'ar_rule_replies.rule_id')
        .select(['ar_rule_replies.rule_id', 'ar_rule_replies.text', 'ar_rule_replies.kind', 'ar_rule_replies.data'])
        .where('ar_rules.rule_set_id', '=', setId);
      if (only) pq = pq.where('ar_rule_replies.rule_id', 'in', only);
      const reps = await pq.orderBy('ar_rule_replies.rule_id').orderBy('ar_rule_replies.position').execute();
      const byId = new Map<number, RuleRecord>();
      const out = rules.map((r) => {
        const rec: RuleRecord = {
          id: Number(r.id),
          ruleSetId: setId,
          position: r.position,
          mode: r.mode,
          name: r.name ?? null,
          keywords: [],
          replies: [],
          createdAt: Number(r.created_at),
          updatedAt: Number(r.updated_at),
        };
        byId.set(rec.id, rec);
        return rec;
      });
      for (const k of kws) byId.get(Number(k.rule_id))?.keywords.push({ text: k.text, norm: k.norm, match: k.match });
      for (const p of reps) byId.get(Number(p.rule_id))?.replies.push(fromRow(p.kind, p.text, p.data));
      return out;
    },
  };
}

export type RulesRepo = ReturnType<typeof createRulesRepo>;
