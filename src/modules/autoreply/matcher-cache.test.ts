import { describe, expect, it } from 'vitest';
import { createMatcherCache } from './matcher-cache.js';
import type { RulesRepo } from './rules-repo.js';

/** A repo with `sets` rule sets of `rulesPer` rules each, counting the compilations. */
function fakeRepo(sets: number, rulesPer: number) {
  const compiled: number[] = [];
  const repo = {
    findSets: async (ids: number[]) =>
      ids.filter((id) => id <= sets).map((id) => ({ id, version: 1, enabled: 1, follow_reply: null, default_reply: null })),
    listRules: async (id: number) => {
      compiled.push(id);
      return Array.from({ length: rulesPer }, (_, i) => ({
        id: id * 1000 + i,
        position: i + 1,
        mode: 'all' as const,
        replies: [{ type: 'text' as const, text: `r${i}` }],
        keywords: [{ text: `k${id}-${i}`, norm: `k${id}-${i}`, match: 'equal' as const }],
      }));
    },
  } as unknown as RulesRepo;
  return { repo, compiled };
}

describe('matcher cache', () => {
  it('holds at most maxSets sets, dropping the least recently used', async () => {
    const { repo, compiled } = fakeRepo(50, 2);
    const cache = createMatcherCache({ repo, now: () => 0, maxSets: 10 });
    for (let id = 1; id <= 50; id++) expect((await cache.get([id]))[0]?.id).toBe(id);
    expect(cache.size).toBe(10);
    // The newest ten are held (no new compilation); the first set is compiled again.
    const before = compiled.length;
    for (let id = 41; id <= 50; id++) await cache.get([id]);
    expect(compiled.length).toBe(before);
    await cache.get([1]);
    expect(compiled.length).toBe(before + 1);
  });

  it('holds at most maxRules rules in all, and still answers a set too big to keep', async () => {
    const { repo } = fakeRepo(20, 10);
    const cache = createMatcherCache({ repo, now: () => 0, maxRules: 50 });
    for (let id = 1; id <= 20; id++) await cache.get([id]);
    // Each set weighs its 10 rules plus one.
    expect(cache.size).toBeLessThanOrEqual(4);
    const tiny = createMatcherCache({ repo, now: () => 0, maxRules: 5 });
    const [snap] = await tiny.get([3]);
    expect(snap?.matcher.match('k3-4')?.position).toBe(5);
    expect(tiny.size).toBe(0);
  });
});
