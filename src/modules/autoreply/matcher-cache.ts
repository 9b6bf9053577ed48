/**
 * Compiled matchers per rule set, kept until the set changes. A change made in this process
 * invalidates at once; a change made by another instance is seen within `ttlMs`, because an
 * entry older than that is revalidated with one query on the set's version.
 */
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
}

export function createMatcherCache(deps: { repo: RulesRepo; now: () => number; ttlMs?: number }) {
  const ttl = deps.ttlMs ?? 1000;
  const entries = new Map<number, Entry>();
  const loading = new Map<number, Promise<void>>();

  async function refresh(ids: number[]): Promise<void> {
    const rows = await deps.repo.findSets(ids);
    const t = deps.now();
    const seen = new Set<number>();
    await Promise.all(
      rows.map(async (row) => {
        const id = Number(row.id);
        seen.add(id);
        const cur = entries.get(id);
        const base = { id, version: row.version, enabled: row.enabled === 1, followReply: row.follow_reply, defaultReply: row.default_reply };
        if (cur && cur.snap.version === row.version) {
          cur.checkedAt = t;
          return;
        }
        const rules = await deps.repo.listRules(id);
        const matcher = buildMatcher(rules.map((r) => ({ id: r.id, position: r.position, mode: r.mode, replies: r.replies, keywords: r.keywords })));
        entries.set(id, { snap: { ...base, matcher }, checkedAt: t });
      }),
    );
    for (const id of ids) if (!seen.has(id)) entries.delete(id);
  }

  return {
    /** Snapshots for the sets (undefined for a set that no longer exists), fresh within ttl. */
    async get(ids: number[]): Promise<(RuleSetSnapshot | undefined)[]> {
      const t = deps.now();
      const stale = ids.filter((id) => {
        const e = entries.get(id);
        return !e || t - e.checkedAt >= ttl;
      });
      if (stale.length) {
        const key = stale.length === 1 ? stale[0] : -1;
        // Single-flight per set, so a burst of messages compiles a changed set once.
        let p = key === -1 ? undefined : loading.get(key);
        if (!p) {
          p = refresh(stale).finally(() => key !== -1 && loading.delete(key));
          if (key !== -1) loading.set(key, p);
        }
        await p;
      }
      return ids.map((id) => entries.get(id)?.snap);
    },
    invalidate(id: number): void {
      entries.delete(id);
    },
  };
}

export type MatcherCache = ReturnType<typeof createMatcherCache>;
