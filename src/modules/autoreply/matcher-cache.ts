/**
 * Compiled matchers per rule set, kept until the set changes. A change made in this process
 * invalidates at once; a change made by another instance is seen within `ttlMs`, because an
 * entry older than that is revalidated with one query on the set's version. Bounded (lru-cache):
 * at most `maxSets` sets and `maxRules` rules in all; the least recently used set goes first and
 * is compiled again on its next message.
 */
import { LRUCache } from 'lru-cache';
import { buildMatcher, type Matcher } from './matcher.js';
import type { RulesRepo } from './rules-repo.js';

export interface RuleSetSnapshot {
  id: number;
  version: number;
  enabled: boolean;
  followReply: string | null;
  defaultReply: string | null;
  matcher: Matcher;
}

interface Entry {
  snap: RuleSetSnapshot;
  checkedAt: number;
  /** Rules compiled into the matcher (the entry's weight in the cache). */
  rules: number;
}

/** Defaults: enough for every active account of a large deployment, a bounded amount of memory. */
export const MATCHER_CACHE_MAX_SETS = 5000;
export const MATCHER_CACHE_MAX_RULES = 500_000;

export function createMatcherCache(deps: { repo: RulesRepo; now: () => number; ttlMs?: number; maxSets?: number; maxRules?: number }) {
  const ttl = deps.ttlMs ?? 1000;
  /** Whether the entry was checked within ttl of `t`. */
  const freshAt = (e: Entry | undefined, t: number): e is Entry => e !== undefined && t - e.checkedAt < ttl;
  const entries = new LRUCache<number, Entry>({
    max: deps.maxSets ?? MATCHER_CACHE_MAX_SETS,
    maxSize: deps.maxRules ?? MATCHER_CACHE_MAX_RULES,
    sizeCalculation: (e) => e.rules + 1,
  });
  const loading = new Map<number, Promise<Map<number, RuleSetSnapshot>>>();

  /** Revalidates the sets; returns the snapshot of each that exists (also when the cache could not keep it). */
  async function refresh(ids: number[]): Promise<Map<number, RuleSetSnapshot>> {
    const rows = await deps.repo.findSets(ids);
    const t = deps.now();
    const seen = new Map<number, RuleSetSnapshot>();
    await Promise.all(
      rows.map(async (row) => {
        const id = Number(row.id);
        const cur = entries.get(id);
        const base = {
          id,
          version: row.version,
          enabled: row.enabled === 1,
          followReply: row.follow_reply,
          defaultReply: row.default_reply,
        };
        if (cur && cur.snap.version === row.version) {
          cur.checkedAt = t;
          seen.set(id, cur.snap);
          return;
        }
        const rules = await deps.repo.listRules(id);
        const matcher = buildMatcher(
          rules.map((r) => ({ id: r.id, position: r.position, mode: r.mode, replies: r.replies, keywords: r.keywords })),
        );
        const snap = { ...base, matcher };
        entries.set(id, { snap, checkedAt: t, rules: rules.length });
        seen.set(id, snap);
      }),
    );
    for (const id of ids) if (!seen.has(id)) entries.delete(id);
    return seen;
  }

  return {
    /** Snapshots for the sets (undefined for a set that no longer exists), fresh within ttl. */
    async get(ids: number[]): Promise<(RuleSetSnapshot | undefined)[]> {
      const t = deps.now();
      // Every set fresh (nearly every message): their snapshots, without the stale list.
      const snaps: RuleSetSnapshot[] = [];
      for (const id of ids) {
        const e = entries.get(id);
        if (!freshAt(e, t)) break;
        snaps.push(e.snap);
      }
      if (snaps.length === ids.length) return snaps;
      const stale = ids.filter((id) => !freshAt(entries.get(id), t));
      let fresh: Map<number, RuleSetSnapshot> | undefined;
      if (stale.length) {
        const key = stale.length === 1 ? stale[0] : -1;
        // Single-flight per set, so a burst of messages compiles a changed set once.
        let p = key === -1 ? undefined : loading.get(key);
        if (!p) {
          p = refresh(stale).finally(() => key !== -1 && loading.delete(key));
          if (key !== -1) loading.set(key, p);
        }
        fresh = await p;
      }
      // From the refresh first: a set the cache evicted (or could not hold) is still answered.
      return ids.map((id) => fresh?.get(id) ?? entries.get(id)?.snap);
    },
    invalidate(id: number): void {
      entries.delete(id);
    },
    /** Sets held now (for tests and metrics). */
    get size(): number {
      return entries.size;
    },
  };
}

export type MatcherCache = ReturnType<typeof createMatcherCache>;
