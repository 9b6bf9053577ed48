/**
 * Rule use cases on one rule set (a member's own, or a connected account's): validation,
 * duplicate keywords (-2 in the seed's terms), positions that are never reused, and cache
 * invalidation after every change. Ownership is checked by the callers (members-service).
 */
import { isUniqueViolation, type DB, type Executor } from '../../platform/db/index.js';
import { normalizeKeyword } from './matcher.js';
import type { MatcherCache } from './matcher-cache.js';
import type { NewRule, RulePageQuery, RuleRecord, RulesRepo, RuleSetRow } from './rules-repo.js';
import { badInput, duplicateKeyword, limitReached, ruleNotFound } from './errors.js';
import { parseReply, type ReplyInput } from './replies.js';

export const LIMITS = {
  keywordChars: 100,
  replyChars: 2000,
  nameChars: 60,
  keywordsPerRule: 20,
  repliesPerRule: 10,
  rulesPerSet: 20_000,
  importRules: 5_000,
} as const;

export interface RuleInput {
  /** Optional, for people ("Opening hours"); empty means none. */
  name?: string | null;
  keywords: { text: string; match?: 'equal' | 'contains' }[];
  /** Text (a string, or {type: 'text', text}), an image ({type: 'image', mediaId}) or a link card ({type: 'news', ...}). */
  replies: ReplyInput[];
  mode?: 'all' | 'random';
}

/** The seed's key for a position: zero-padded to two digits ("01", "02", ... "99", "100"). */
export function positionKey(position: number): string {
  return String(position).padStart(2, '0');
}

/** Parses a seed key back to a position; undefined when it is not one. */
export function parsePositionKey(key: string): number | undefined {
  return /^\d{1,9}$/.test(key) && Number(key) > 0 ? Number(key) : undefined;
}

/** Checks and normalizes one rule; throws bad_input with a message saying what is wrong. */
export function validateRule(input: RuleInput): NewRule {
  if (!Array.isArray(input.keywords) || input.keywords.length === 0) throw badInput('a rule needs at least one keyword');
  if (input.keywords.length > LIMITS.keywordsPerRule) throw badInput(`at most ${LIMITS.keywordsPerRule} keywords per rule`);
  if (!Array.isArray(input.replies) || input.replies.length === 0) throw badInput('a rule needs at least one reply');
  if (input.replies.length > LIMITS.repliesPerRule) throw badInput(`at most ${LIMITS.repliesPerRule} replies per rule`);
  const seen = new Set<string>();
  const keywords = input.keywords.map((k) => {
    if (typeof k?.text !== 'string') throw badInput('a keyword must be text');
    const norm = normalizeKeyword(k.text);
    if (!norm) throw badInput('a keyword must not be empty');
    if (k.text.length > LIMITS.keywordChars) throw badInput(`a keyword has at most ${LIMITS.keywordChars} characters`);
    if (seen.has(norm)) throw duplicateKeyword(k.text);
    seen.add(norm);
    const match = k.match ?? 'equal';
    if (match !== 'equal' && match !== 'contains') throw badInput('match is "equal" or "contains"');
    return { text: k.text.trim(), norm, match };
  });
  const replies = input.replies.map(parseReply);
  const mode = input.mode ?? 'all';
  if (mode !== 'all' && mode !== 'random') throw badInput('mode is "all" or "random"');
  if (input.name !== undefined && input.name !== null && typeof input.name !== 'string') throw badInput('a rule name is text');
  const name = input.name?.trim() || null;
  if (name && [...name].length > LIMITS.nameChars) throw badInput(`a rule name has at most ${LIMITS.nameChars} characters`);
  return { keywords, replies, mode, name };
}

/** What one member may store over all their rule sets (AUTOREPLY_MAX_RULES, AUTOREPLY_MAX_RULE_BYTES). */
export interface MemberCaps {
  maxRules: number;
  maxRuleBytes: number;
}

export const DEFAULT_CAPS: MemberCaps = { maxRules: 20_000, maxRuleBytes: 16 * 1024 * 1024 };

export function createRulesService(deps: { db: DB; repo: RulesRepo; cache: MatcherCache; now: () => number; caps?: MemberCaps }) {
  const { db, repo, cache, now } = deps;
  const caps = deps.caps ?? DEFAULT_CAPS;

  /**
   * Runs a change in a transaction, mapping a unique violation to duplicate_keyword, then
   * invalidates. A change that adds or grows rules takes the owner's lock first and checks the
   * owner's totals after its writes, before commit: parallel changes cannot all pass the caps.
   */
  async function change<T>(setId: number, fn: (trx: Executor) => Promise<T>, keywordHint = '', capped = false): Promise<T> {
    try {
      const out = await db.transaction().execute(async (trx) => {
        const owner = capped ? await lockOwner(setId, trx) : null;
        const r = await fn(trx);
        if (owner !== null) await checkCaps(owner, trx);
        return r;
      });
      return out;
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicateKeyword(keywordHint);
      throw err;
    } finally {
      cache.invalidate(setId);
    }
  }

  async function lockOwner(setId: number, trx: Executor): Promise<number> {
    const set = await repo.findSet(setId, trx);
    if (!set) throw ruleNotFound('no such rule set');
    const userId = Number(set.user_id);
    await repo.insertMemberSet(userId, now(), trx);
    await repo.lockMember(userId, trx);
    return userId;
  }

  async function checkCaps(userId: number, trx: Executor): Promise<void> {
    const u = await repo.memberUsage(userId, trx);
    if (u.rules > caps.maxRules) {
      throw limitReached(
        `at most ${caps.maxRules} rules per member over all your accounts (this change would make ${u.rules}); delete some first`,
        { limit: 'rules', max: caps.maxRules },
      );
    }
    if (u.bytes > caps.maxRuleBytes) {
      throw limitReached(
        `your rules may take at most ${caps.maxRuleBytes} bytes of text over all your accounts (this change would make ${u.bytes}); shorten or delete some first`,
        { limit: 'rule_bytes', max: caps.maxRuleBytes },
      );
    }
  }

  async function ensureFree(setId: number, rules: NewRule[], exceptRuleId: number | null, x: Executor): Promise<void> {
    const norms = rules.flatMap((r) => r.keywords.map((k) => k.norm));
    if (new Set(norms).size !== norms.length) {
      const dup = norms.find((n, i) => norms.indexOf(n) !== i)!;
      throw duplicateKeyword(dup);
    }
    const taken = await repo.takenNorms(setId, norms, exceptRuleId, x);
    if (taken.length) throw duplicateKeyword(taken[0]);
  }

  async function insertAll(setId: number, rules: NewRule[], x: Executor): Promise<number[]> {
    if ((await repo.countRules(setId, x)) + rules.length > LIMITS.rulesPerSet)
      throw badInput(`at most ${LIMITS.rulesPerSet} rules per account`);
    return repo.insertRules(setId, rules, now(), x);
  }

  async function findOwnRule(setId: number, ruleId: number, x: Executor = db) {
    const r = await repo.findRule(ruleId, x);
    if (!r || Number(r.rule_set_id) !== setId) throw ruleNotFound();
    return r;
  }

  return {
    /** The member's own rule set, created on first use. */
    async memberSet(userId: number): Promise<RuleSetRow> {
      const found = await repo.findMemberSet(userId);
      if (found) return found;
      await repo.insertMemberSet(userId, now());
      return (await repo.findMemberSet(userId))!;
    },
    async setRow(setId: number): Promise<RuleSetRow> {
      const r = await repo.findSet(setId);
      if (!r) throw ruleNotFound('no such rule set');
      return r;
    },
    /** Every rule of a set (the seed's views and the export; bounded by the member caps). */
    list(setId: number): Promise<RuleRecord[]> {
      return repo.listRules(setId);
    },
    /**
     * The set's rules a page at a time (keyset by position), for a streamed export: memory stays
     * at one page whatever the set's size. Not a snapshot: a rule changed during the export shows
     * as it was when its page was read.
     */
    async *pages(setId: number, pageSize = 500): AsyncGenerator<RuleRecord[]> {
      let after = 0;
      for (;;) {
        const page = await repo.rulesAfter(setId, after, pageSize);
        if (!page.length) return;
        yield page;
        after = page[page.length - 1].position;
      }
    },
    /** A page of a set's rules, searched and paged in SQL. */
    page(setId: number, q: RulePageQuery): Promise<{ total: number; rules: RuleRecord[] }> {
      return repo.pageRules(setId, q);
    },
    /** What a member stores now, against the caps. */
    async usage(userId: number) {
      return { ...(await repo.memberUsage(userId)), maxRules: caps.maxRules, maxRuleBytes: caps.maxRuleBytes };
    },
    async get(setId: number, ruleId: number): Promise<RuleRecord> {
      await findOwnRule(setId, ruleId);
      return (await repo.rulesByIds(setId, [ruleId]))[0];
    },
    /** Adds rules all or nothing (the seed's add posts several pairs at once). Answers the new ids. */
    async create(setId: number, inputs: RuleInput[]): Promise<number[]> {
      const rules = inputs.map(validateRule);
      return change(
        setId,
        async (trx) => {
          await ensureFree(setId, rules, null, trx);
          return insertAll(setId, rules, trx);
        },
        '',
        true,
      );
    },
    async update(setId: number, ruleId: number, input: RuleInput): Promise<void> {
      const rule = validateRule(input);
      await change(
        setId,
        async (trx) => {
          await findOwnRule(setId, ruleId, trx);
          await ensureFree(setId, [rule], ruleId, trx);
          await repo.deleteParts(ruleId, trx);
          await repo.insertParts(setId, ruleId, rule, trx);
          await repo.touchRule(ruleId, rule, now(), trx);
          await repo.bumpVersion(setId, now(), trx);
        },
        '',
        true,
      );
    },
    async remove(setId: number, ruleId: number): Promise<void> {
      await change(setId, async (trx) => {
        await findOwnRule(setId, ruleId, trx);
        await repo.deleteRule(ruleId, trx);
        await repo.bumpVersion(setId, now(), trx);
      });
    },
    async ruleIdByPosition(setId: number, position: number): Promise<number> {
      const r = await repo.findRuleIdByPosition(setId, position);
      if (!r) throw ruleNotFound(`no rule with key ${positionKey(position)}`);
      return Number(r.id);
    },
    async ruleIdByKeyword(setId: number, keyword: string): Promise<number> {
      const r = await repo.findRuleIdByKeyword(setId, normalizeKeyword(keyword));
      if (!r) throw ruleNotFound(`no rule with keyword "${keyword}"`);
      return Number(r.rule_id);
    },
    async settings(setId: number, patch: { enabled?: boolean; followReply?: string | null; defaultReply?: string | null }): Promise<void> {
      for (const v of [patch.followReply, patch.defaultReply]) {
        if (typeof v === 'string' && v.length > LIMITS.replyChars) throw badInput(`a reply has at most ${LIMITS.replyChars} characters`);
      }
      const clean = (v: string | null | undefined) => (v === undefined ? undefined : v && v.trim() ? v : null);
      await repo.updateSettings(
        setId,
        { enabled: patch.enabled, follow_reply: clean(patch.followReply), default_reply: clean(patch.defaultReply) },
        now(),
      );
      cache.invalidate(setId);
    },
    /** Imports rules (all or nothing); `replace` deletes the set's rules first. */
    async importRules(setId: number, inputs: RuleInput[], replace: boolean): Promise<number> {
      if (inputs.length > LIMITS.importRules) throw badInput(`at most ${LIMITS.importRules} rules per import`);
      const rules = inputs.map(validateRule);
      await change(
        setId,
        async (trx) => {
          if (replace) await repo.deleteAllRules(setId, trx);
          await ensureFree(setId, rules, null, trx);
          await insertAll(setId, rules, trx);
        },
        '',
        true,
      );
      return rules.length;
    },
  };
}

export type RulesService = ReturnType<typeof createRulesService>;
