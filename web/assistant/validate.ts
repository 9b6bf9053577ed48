/**
 * Checks the pages run before sending (the server checks again, with the same limits as
 * src/modules/autoreply). Each returns an i18n key with values, or null when the input is fine.
 */
import type { ReplyItem, RuleInput } from './api';

export type Problem = { key: string; values?: Record<string, unknown> } | null;

export const LIMITS = {
  keywordChars: 100,
  replyChars: 2000,
  nameChars: 60,
  titleChars: 64,
  descriptionChars: 120,
  urlChars: 1024,
  keywordsPerRule: 20,
  repliesPerRule: 10,
  importRules: 5000,
} as const;

/** A reply being edited: every type's fields, so switching the type keeps what was typed. */
export interface ReplyDraft {
  type: 'text' | 'image' | 'news';
  text: string;
  mediaId: string;
  title: string;
  description: string;
  url: string;
  picUrl: string;
}

export function toDraft(r: ReplyItem): ReplyDraft {
  const d: ReplyDraft = { type: 'text', text: '', mediaId: '', title: '', description: '', url: '', picUrl: '' };
  if (typeof r === 'string') return { ...d, text: r };
  if (r.type === 'image') return { ...d, type: 'image', mediaId: r.mediaId };
  return { ...d, type: 'news', title: r.title, description: r.description, url: r.url, picUrl: r.picUrl };
}

export function fromDraft(d: ReplyDraft): ReplyItem {
  if (d.type === 'image') return { type: 'image', mediaId: d.mediaId.trim() };
  if (d.type === 'news')
    return { type: 'news', title: d.title.trim(), description: d.description.trim(), url: d.url.trim(), picUrl: d.picUrl.trim() };
  return d.text;
}

const chars = (s: string) => [...s].length;
const httpUrl = (s: string) => {
  try {
    const u = new URL(s.trim());
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};

/** Problems of one reply by field (`text`, `mediaId`, `title`, `description`, `url`, `picUrl`). */
export function replyProblems(d: ReplyDraft): Record<string, Problem> {
  const out: Record<string, Problem> = {};
  if (d.type === 'text') {
    if (!d.text.trim()) out.text = { key: 'errors.required' };
    else if (d.text.length > LIMITS.replyChars) out.text = { key: 'errors.tooLong', values: { max: LIMITS.replyChars } };
  } else if (d.type === 'image') {
    if (!d.mediaId.trim()) out.mediaId = { key: 'errors.required' };
    else if (!/^[A-Za-z0-9_-]{1,128}$/.test(d.mediaId.trim())) out.mediaId = { key: 'errors.mediaId' };
  } else {
    if (!d.title.trim()) out.title = { key: 'errors.required' };
    else if (chars(d.title.trim()) > LIMITS.titleChars) out.title = { key: 'errors.tooLong', values: { max: LIMITS.titleChars } };
    if (chars(d.description.trim()) > LIMITS.descriptionChars)
      out.description = { key: 'errors.tooLong', values: { max: LIMITS.descriptionChars } };
    if (!d.url.trim()) out.url = { key: 'errors.required' };
    else if (!httpUrl(d.url) || d.url.trim().length > LIMITS.urlChars) out.url = { key: 'errors.url' };
    if (d.picUrl.trim() && (!httpUrl(d.picUrl) || d.picUrl.trim().length > LIMITS.urlChars)) out.picUrl = { key: 'errors.url' };
  }
  return out;
}

export function username(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return /^[A-Za-z0-9_.-]{3,30}$/.test(s.trim()) ? null : { key: 'errors.username' };
}

export function password(s: string, user = ''): Problem {
  if (!s) return { key: 'errors.required' };
  const n = [...s].length;
  if (n < 8 || n > 128) return { key: 'errors.passwordLength' };
  if (user && s.toLowerCase() === user.trim().toLowerCase()) return { key: 'errors.passwordIsName' };
  return null;
}

export function code(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return /^\d{6}$/.test(s.trim()) ? null : { key: 'errors.code' };
}

export function appid(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return /^wx[0-9a-zA-Z]{6,30}$/.test(s.trim()) ? null : { key: 'errors.appid' };
}
export function secret(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return /^[0-9a-zA-Z]{16,64}$/.test(s.trim()) ? null : { key: 'errors.secret' };
}
export function token(s: string): Problem {
  if (!s.trim()) return { key: 'errors.required' };
  return /^[0-9a-zA-Z]{3,32}$/.test(s.trim()) ? null : { key: 'errors.token' };
}
export function aesKey(s: string): Problem {
  if (!s.trim()) return null;
  return /^[0-9a-zA-Z]{43}$/.test(s.trim()) ? null : { key: 'errors.aesKey' };
}

/** The keyword as the server compares it (equal keywords in one set are refused). */
export const normalize = (s: string) => s.normalize('NFKC').trim().toLowerCase();

/** Problems of a rule being edited, by field: `name`, `keyword.<i>`, `reply.<i>.<field>`, `keywords`, `replies`. */
export function rule(r: RuleInput): Record<string, Problem> {
  const out: Record<string, Problem> = {};
  if (r.name && chars(r.name.trim()) > LIMITS.nameChars) out.name = { key: 'errors.tooLong', values: { max: LIMITS.nameChars } };
  const seen = new Map<string, number>();
  r.keywords.forEach((k, i) => {
    const n = normalize(k.text);
    if (!n) out[`keyword.${i}`] = { key: 'errors.required' };
    else if (k.text.length > LIMITS.keywordChars) out[`keyword.${i}`] = { key: 'errors.tooLong', values: { max: LIMITS.keywordChars } };
    else if (seen.has(n)) out[`keyword.${i}`] = { key: 'errors.sameKeyword' };
    seen.set(n, i);
  });
  if (!r.keywords.length) out.keywords = { key: 'rules.needKeyword' };
  if (r.keywords.length > LIMITS.keywordsPerRule) out.keywords = { key: 'errors.tooMany', values: { max: LIMITS.keywordsPerRule } };
  r.replies.forEach((reply, i) => {
    for (const [field, p] of Object.entries(replyProblems(toDraft(reply)))) if (p) out[`reply.${i}.${field}`] = p;
  });
  if (!r.replies.length) out.replies = { key: 'rules.needReply' };
  if (r.replies.length > LIMITS.repliesPerRule) out.replies = { key: 'errors.tooMany', values: { max: LIMITS.repliesPerRule } };
  return out;
}

/**
 * Reads an import file (the export format, or a bare array of rules, or the seed's
 * {"01": {"received": "reply"}} view) into rules; throws an i18n problem when it is not one.
 */
export function parseImport(text: string): {
  rules: RuleInput[];
  settings?: { enabled?: boolean; followReply?: string | null; defaultReply?: string | null };
} {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw { key: 'io.notJson' };
  }
  let list: unknown[];
  let settings: Record<string, unknown> | undefined;
  if (Array.isArray(data)) list = data;
  else if (data && typeof data === 'object' && Array.isArray((data as { rules?: unknown }).rules)) {
    list = (data as { rules: unknown[] }).rules;
    const s = (data as { settings?: unknown }).settings;
    if (s && typeof s === 'object') settings = s as Record<string, unknown>;
  } else if (data && typeof data === 'object') {
    // The seed's view: {"01": {"received": "reply", ...}, ...}. Keys "10" and up are integer-like,
    // so JavaScript lists them before "01".."09": order by the number the key stands for.
    list = [];
    const entries = Object.entries(data as Record<string, unknown>).sort(([a], [b]) => (Number(a) || 0) - (Number(b) || 0));
    for (const [, pairs] of entries) {
      if (!pairs || typeof pairs !== 'object') throw { key: 'io.badShape' };
      for (const [k, v] of Object.entries(pairs as Record<string, unknown>))
        list.push({ keywords: [{ text: k, match: 'equal' }], replies: [v] });
    }
  } else throw { key: 'io.badShape' };
  if (!list.length) throw { key: 'io.empty' };
  if (list.length > LIMITS.importRules) throw { key: 'io.tooMany', values: { max: LIMITS.importRules } };
  const rules: RuleInput[] = list.map((raw, i) => {
    const r = raw as { keywords?: unknown; replies?: unknown; mode?: unknown };
    const keywords = Array.isArray(r?.keywords)
      ? r.keywords.map((k) =>
          typeof k === 'string'
            ? { text: k, match: 'equal' as const }
            : {
                text: String((k as { text?: unknown })?.text ?? ''),
                match: (k as { match?: unknown })?.match === 'contains' ? ('contains' as const) : ('equal' as const),
              },
        )
      : [];
    const replies: ReplyItem[] = Array.isArray(r?.replies) ? r.replies.map(importedReply) : [];
    const mode = r?.mode === 'random' ? ('random' as const) : ('all' as const);
    const name = typeof (r as { name?: unknown })?.name === 'string' ? (r as { name: string }).name.trim() || null : null;
    const rule = { name, keywords, replies, mode };
    const problems = Object.values(validateRuleShape(rule)).filter(Boolean);
    if (problems.length) throw { key: 'io.badRule', values: { n: i + 1 } };
    return rule;
  });
  const seen = new Set<string>();
  for (const r of rules) {
    for (const k of r.keywords) {
      const n = normalize(k.text);
      if (seen.has(n)) throw { key: 'io.duplicate', values: { keyword: k.text } };
      seen.add(n);
    }
  }
  const pick = (v: unknown) => (typeof v === 'string' || v === null ? v : undefined);
  return {
    rules,
    settings: settings
      ? {
          enabled: typeof settings.enabled === 'boolean' ? settings.enabled : undefined,
          followReply: pick(settings.followReply),
          defaultReply: pick(settings.defaultReply),
        }
      : undefined,
  };
}

const validateRuleShape = rule;

/** A reply from an import file: a string (text) or an image / news object; anything else is an empty text (refused). */
function importedReply(x: unknown): ReplyItem {
  if (typeof x === 'string') return x;
  const o = (x && typeof x === 'object' ? x : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  if (o.type === 'image') return { type: 'image', mediaId: str(o.mediaId) };
  if (o.type === 'news')
    return { type: 'news', title: str(o.title), description: str(o.description), url: str(o.url), picUrl: str(o.picUrl) };
  if (o.type === 'text') return str(o.text);
  return '';
}
