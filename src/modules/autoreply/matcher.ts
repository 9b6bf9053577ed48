/**
 * Keyword matching whose cost does not grow with the number of rules: "equal" keywords sit in a
 * Map (one lookup), "contains" keywords in one Aho-Corasick automaton (one pass over the message,
 * O(message length), whatever the number of keywords). Built once per rule set and cached until
 * the rule set changes (see matcher-cache.ts).
 *
 * Which rule wins: an "equal" match beats any "contains" match; among "contains" matches the rule
 * with the lowest position (the oldest) wins, as WeChat's built-in auto-reply does.
 */

/** Keywords and incoming text are compared after this: NFKC, trimmed, lower case. */
import type { Reply } from './replies.js';

export function normalizeKeyword(text: string): string {
  return text.normalize('NFKC').trim().toLowerCase();
}

export interface MatchRule {
  id: number;
  position: number;
  mode: 'all' | 'random';
  replies: Reply[];
  keywords: { norm: string; match: 'equal' | 'contains' }[];
}

export interface Matcher {
  /** The winning rule for a message text, if any. */
  match(text: string): MatchRule | undefined;
  readonly size: number;
}

interface Automaton {
  /** goto per state: code point -> state */
  next: Map<number, number>[];
  fail: Int32Array;
  /** Best (lowest) rule index ending at this state, following fail links; -1 none. */
  best: Int32Array;
}

function buildAutomaton(patterns: { norm: string; rank: number }[]): Automaton {
  const next: Map<number, number>[] = [new Map<number, number>()];
  const own: number[] = [-1];
  for (const { norm, rank } of patterns) {
    let s = 0;
    for (const ch of norm) {
      const cp = ch.codePointAt(0)!;
      let t = next[s].get(cp);
      if (t === undefined) {
        t = next.length;
        next.push(new Map());
        own.push(-1);
        next[s].set(cp, t);
      }
      s = t;
    }
    if (own[s] === -1 || rank < own[s]) own[s] = rank;
  }
  const fail = new Int32Array(next.length);
  const best = Int32Array.from(own);
  // Breadth-first: a state's fail link points to a shallower state, already final.
  const queue: number[] = [];
  for (const t of next[0].values()) queue.push(t);
  for (let qi = 0; qi < queue.length; qi++) {
    const s = queue[qi];
    const f = fail[s];
    if (best[f] !== -1 && (best[s] === -1 || best[f] < best[s])) best[s] = best[f];
    for (const [cp, t] of next[s]) {
      let k = f;
      while (k !== 0 && !next[k].has(cp)) k = fail[k];
      const g = next[k].get(cp);
      fail[t] = g !== undefined && g !== t ? g : 0;
      queue.push(t);
    }
  }
  return { next, fail, best };
}

function scan(a: Automaton, text: string): number {
  let s = 0;
  let found = -1;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    let t = a.next[s].get(cp);
    while (t === undefined && s !== 0) {
      s = a.fail[s];
      t = a.next[s].get(cp);
    }
    s = t ?? 0;
    const b = a.best[s];
    if (b !== -1 && (found === -1 || b < found)) found = b;
  }
  return found;
}

/** Compiles a rule set's rules (any order) into a matcher. */
export function buildMatcher(rules: MatchRule[]): Matcher {
  const ordered = [...rules].sort((x, y) => x.position - y.position);
  const equal = new Map<string, MatchRule>();
  const contains: { norm: string; rank: number }[] = [];
  ordered.forEach((r, rank) => {
    for (const k of r.keywords) {
      if (!k.norm) continue;
      if (k.match === 'equal') {
        if (!equal.has(k.norm)) equal.set(k.norm, r);
      } else contains.push({ norm: k.norm, rank });
    }
  });
  const automaton = contains.length ? buildAutomaton(contains) : undefined;
  return {
    size: ordered.length,
    match(text) {
      const norm = normalizeKeyword(text);
      if (!norm) return undefined;
      const hit = equal.get(norm);
      if (hit) return hit;
      if (!automaton) return undefined;
      const rank = scan(automaton, norm);
      return rank === -1 ? undefined : ordered[rank];
    },
  };
}
