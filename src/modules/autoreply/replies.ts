/**
 * What a rule answers: text, an image, or a link card ("news" with one article), as WeChat's own
 * auto-reply settings offer. Validation, storage form and the one-line summary that text-only
 * views (the seed's {"key": {"received": "reply"}}, the WeChat "列表" command) show.
 *
 * An image reply names an image by its media_id in the official account's material library
 * (素材管理): a passive reply cannot carry image bytes, and uploading needs the account's own API
 * call. Permanent material keeps its media_id; temporary media expires after 3 days.
 */
import { badInput } from './errors.js';

export type Reply =
  | { type: 'text'; text: string }
  | { type: 'image'; mediaId: string }
  | { type: 'news'; title: string; description: string; url: string; picUrl: string };

/** A reply as clients send it: a string is a text reply (the seed's and version 1 exports' form). */
export type ReplyInput =
  string | { type?: string; text?: unknown; mediaId?: unknown; title?: unknown; description?: unknown; url?: unknown; picUrl?: unknown };

export const REPLY_LIMITS = { text: 2000, mediaId: 128, title: 64, description: 120, url: 1024 } as const;

const MEDIA_ID = /^[A-Za-z0-9_-]{1,128}$/;

function httpUrl(v: unknown, what: string, required: boolean): string {
  const s = typeof v === 'string' ? v.trim() : '';
  if (!s) {
    if (required) throw badInput(`${what} is required`);
    return '';
  }
  if (s.length > REPLY_LIMITS.url) throw badInput(`${what} has at most ${REPLY_LIMITS.url} characters`);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw badInput(`${what} must be a full http:// or https:// address`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw badInput(`${what} must be a full http:// or https:// address`);
  return s;
}

/** Checks and normalizes one reply; throws bad_input saying what is wrong. */
export function parseReply(input: ReplyInput): Reply {
  if (typeof input === 'string') return textReply(input);
  if (!input || typeof input !== 'object') throw badInput('a reply is text or {type, ...}');
  const type = input.type ?? 'text';
  if (type === 'text') return textReply(input.text);
  if (type === 'image') {
    const id = typeof input.mediaId === 'string' ? input.mediaId.trim() : '';
    if (!id) throw badInput("an image reply needs the image's media_id from the official account's material library (素材管理)");
    if (!MEDIA_ID.test(id)) throw badInput('a media_id has 1-128 letters, digits, "_" or "-"');
    return { type: 'image', mediaId: id };
  }
  if (type === 'news') {
    const title = typeof input.title === 'string' ? input.title.trim() : '';
    if (!title) throw badInput('a link reply needs a title');
    if ([...title].length > REPLY_LIMITS.title) throw badInput(`a link title has at most ${REPLY_LIMITS.title} characters`);
    const description = typeof input.description === 'string' ? input.description.trim() : '';
    if ([...description].length > REPLY_LIMITS.description)
      throw badInput(`a link description has at most ${REPLY_LIMITS.description} characters`);
    return {
      type: 'news',
      title,
      description,
      url: httpUrl(input.url, 'the link address', true),
      picUrl: httpUrl(input.picUrl, 'the picture address', false),
    };
  }
  throw badInput('a reply type is "text", "image" or "news"');
}

function textReply(v: unknown): Reply {
  if (typeof v !== 'string' || !v.trim()) throw badInput('a reply must be non-empty text');
  if (v.length > REPLY_LIMITS.text) throw badInput(`a reply has at most ${REPLY_LIMITS.text} characters`);
  return { type: 'text', text: v };
}

/** Storage columns of ar_rule_replies: `text` holds the text (or the summary), `data` the rest as JSON. */
export function toRow(r: Reply): { kind: Reply['type']; text: string; data: string | null } {
  if (r.type === 'text') return { kind: 'text', text: r.text, data: null };
  if (r.type === 'image') return { kind: 'image', text: replySummary(r), data: JSON.stringify({ mediaId: r.mediaId }) };
  return {
    kind: 'news',
    text: replySummary(r),
    data: JSON.stringify({ title: r.title, description: r.description, url: r.url, picUrl: r.picUrl }),
  };
}

export function fromRow(kind: string | null, text: string, data: string | null): Reply {
  if (kind === 'image' || kind === 'news') {
    try {
      const d = JSON.parse(data ?? '{}') as Record<string, string>;
      if (kind === 'image') return { type: 'image', mediaId: String(d.mediaId ?? '') };
      return {
        type: 'news',
        title: String(d.title ?? ''),
        description: String(d.description ?? ''),
        url: String(d.url ?? ''),
        picUrl: String(d.picUrl ?? ''),
      };
    } catch {
      return { type: 'text', text };
    }
  }
  return { type: 'text', text };
}

/** One line for views that only show text: the text itself, "[图片] <media_id>", or "[链接] <title> <url>". */
export function replySummary(r: Reply): string {
  if (r.type === 'text') return r.text;
  if (r.type === 'image') return `[图片] ${r.mediaId}`;
  return `[链接] ${r.title} ${r.url}`;
}

/** Whether a search text is in the reply (search over rules). */
export function replyHas(r: Reply, q: string): boolean {
  const hay = r.type === 'text' ? r.text : r.type === 'image' ? r.mediaId : `${r.title}\n${r.description}\n${r.url}`;
  return hay.toLowerCase().includes(q);
}
