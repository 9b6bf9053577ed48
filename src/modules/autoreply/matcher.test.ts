/** Which rule wins, and the automaton agreeing with a plain scan over every keyword. */
import { describe, expect, it } from 'vitest';
import { buildMatcher, normalizeKeyword, type MatchRule } from './matcher.js';

let nextId = 1;
function rule(position: number, keywords: [string, 'equal' | 'contains'][]): MatchRule {
  return {
    id: nextId++,
    position,
    mode: 'all',
    replies: [{ type: 'text', text: `r${position}` }],
    keywords: keywords.map(([t, match]) => ({ norm: normalizeKeyword(t), match })),
  };
}

/** The reference: equal first, then the oldest rule with a contained keyword. */
function linear(rules: MatchRule[], text: string): MatchRule | undefined {
  const norm = normalizeKeyword(text);
  const ordered = [...rules].sort((a, b) => a.position - b.position);
  return (
    ordered.find((r) => r.keywords.some((k) => k.match === 'equal' && k.norm === norm)) ??
    ordered.find((r) => r.keywords.some((k) => k.match === 'contains' && norm.includes(k.norm)))
  );
}

describe('matcher', () => {
  it('prefers an equal keyword, then the oldest rule among contained ones', () => {
    const rules = [
      rule(3, [['价格', 'contains']]),
      rule(1, [['格', 'contains']]),
      rule(2, [['价格', 'equal']]),
      rule(4, [['abcd', 'contains']]),
      rule(5, [['bc', 'contains']]),
    ];
    const m = buildMatcher(rules);
    expect(m.match(' 价格 ')?.position).toBe(2);
    expect(m.match('请问价格')?.position).toBe(1);
    // Overlapping patterns: "bc" inside "abcd" is found through the failure links.
    expect(m.match('xxabcdxx')?.position).toBe(4);
    expect(m.match('xxabcxx')?.position).toBe(5);
    expect(m.match('nothing here')).toBeUndefined();
    expect(m.match('   ')).toBeUndefined();
  });

  it('compares after NFKC and case folding, emoji included', () => {
    const m = buildMatcher([rule(1, [['ＰＲＩＣＥ', 'equal']]), rule(2, [['🍎苹果', 'contains']])]);
    expect(m.match('price')?.position).toBe(1);
    expect(m.match('Price')?.position).toBe(1);
    expect(m.match('我要🍎苹果两斤')?.position).toBe(2);
    expect(m.match('我要🍐苹果')).toBeUndefined();
  });

  it('agrees with a plain scan on 10,000 rules and random texts', () => {
    // Seeded (mulberry32), so a failure replays: the seed is in every assertion's message.
    const seed = Number(process.env.MATCHER_SEED ?? 0x5eed);
    let state = seed >>> 0;
    const random = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const alphabet = 'abc价格地址';
    const pick = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const seen = new Set<string>();
    const rules: MatchRule[] = [];
    for (let i = 1; rules.length < 10_000; i++) {
      const kw = pick(2 + (i % 5));
      const match = i % 2 ? 'contains' : 'equal';
      if (seen.has(kw)) continue;
      seen.add(kw);
      rules.push(rule(i, [[kw, match]]));
    }
    const m = buildMatcher(rules);
    for (let i = 0; i < 2000; i++) {
      const t = pick(1 + (i % 12));
      expect(m.match(t)?.id, `${t} (MATCHER_SEED=${seed})`).toBe(linear(rules, t)?.id);
    }
  });
});
