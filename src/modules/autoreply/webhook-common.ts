/**
 * What both webhooks (member accounts and the platform account) share: the dedupe key of a
 * message, the stored answer's shape, and turning it into the HTTP answer. Replies beyond the
 * first are a job (extra-replies.ts).
 */
import { CallbackRefused, wrapReply, type CallbackAccount } from '../../platform/wechat/callback.js';
import { imageReplyXml, newsReplyXml, textReplyXml } from '../../platform/wechat/xml.js';
import type { Reply } from './replies.js';

/** What a message was answered with; stored so WeChat's retries get the same answer. */
export interface StoredAnswer {
  /** CreateTime of the reply (seconds), kept so a retry's reply is byte-identical in plain mode. */
  t: number;
  /** replies[0] is the passive reply; the rest go through the customer-service API. */
  replies?: Reply[];
  /** The form stored before replies had kinds (text only); read, never written. */
  texts?: string[];
}

/** The replies of a stored answer, whichever form it was stored in. */
export function answerReplies(a: StoredAnswer): Reply[] {
  return a.replies ?? (a.texts ?? []).map((text) => ({ type: 'text' as const, text }));
}

/** Text replies (the platform account's answers, follow and default replies). */
export const textReplies = (texts: string[]): Reply[] => texts.map((text) => ({ type: 'text' as const, text }));

export interface WebhookAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Openids the simulator uses: replies beyond the first are reported, never sent to WeChat. */
export const SIMULATOR_OPENID_PREFIX = 'simulator-';

/** The key WeChat's retries share: MsgId, or sender + CreateTime (+ event) for events. */
export function messageKey(f: Record<string, string>): string {
  if (f.MsgId && /^\d{1,30}$/.test(f.MsgId)) return `m:${f.MsgId}`;
  return `e:${(f.FromUserName ?? '').slice(0, 64)}:${(f.CreateTime ?? '').slice(0, 20)}:${(f.Event ?? f.MsgType ?? '').slice(0, 30)}`;
}

export function answerBody(
  acc: CallbackAccount,
  f: Record<string, string>,
  a: StoredAnswer,
  encrypted: boolean,
  nowMs: number,
): WebhookAnswer {
  const first = answerReplies(a)[0];
  if (!first) return { status: 200, contentType: 'text/plain', body: 'success' };
  const to = f.FromUserName ?? '';
  const from = f.ToUserName ?? '';
  // WeChat's passive reply formats: text, image (Image/MediaId), news (one article).
  const xml =
    first.type === 'image'
      ? imageReplyXml(to, from, first.mediaId, a.t)
      : first.type === 'news'
        ? newsReplyXml(to, from, first, a.t)
        : textReplyXml(to, from, first.text, a.t);
  return { status: 200, contentType: 'application/xml', body: wrapReply(acc, xml, encrypted, nowMs) };
}

/**
 * Runs `open` (a signature, timestamp or decryption check); a `CallbackRefused` becomes the plain
 * answer WeChat gets, anything else is thrown on.
 */
export function refusedOr<T>(open: () => T): { ok: T } | { refused: WebhookAnswer } {
  try {
    return { ok: open() };
  } catch (err) {
    if (err instanceof CallbackRefused) return { refused: { status: err.status, contentType: 'text/plain', body: err.message } };
    throw err;
  }
}
