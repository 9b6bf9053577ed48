/**
 * What both webhooks (member accounts and the platform account) share: the dedupe key of a
 * message, the stored answer's shape, and turning it into the HTTP answer. Replies beyond the
 * first are a job (extra-replies.ts).
 */
import { CallbackRefused, wrapReply, type CallbackAccount } from '../../platform/wechat/callback.js';
import { cdata, imageReplyXml, newsReplyXml, textReplyXml } from '../../platform/wechat/xml.js';
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

/**
 * A stored answer as JSON, `JSON.stringify(a)`'s text for a new answer (`{t, replies}`). The
 * replies' part is made once per replies array: a rule's replies (and each default-reply text's)
 * live as long as the compiled rule set, so most messages reuse it, and only the time is written
 * per message. JSON.stringify of the answer, its reply text mostly two-byte (Chinese), was
 * ~1.5-1.8k instructions of each message (callgrind, bench/README.md "Hot paths, a ninth pass").
 */
export function storedAnswerJson(a: { t: number; replies: Reply[] }): string {
  let replies = repliesJson.get(a.replies);
  if (replies === undefined) {
    replies = JSON.stringify(a.replies);
    repliesJson.set(a.replies, replies);
  }
  return `{"t":${JSON.stringify(a.t)},"replies":${replies}}`;
}
const repliesJson = new WeakMap<Reply[], string>();

/** The replies of a stored answer, whichever form it was stored in. */
export function answerReplies(a: StoredAnswer): Reply[] {
  return a.replies ?? (a.texts ?? []).map((text) => ({ type: 'text' as const, text }));
}

/** Text replies (the platform account's answers, follow and default replies). */
export const textReplies = (texts: string[]): Reply[] => texts.map((text) => ({ type: 'text' as const, text }));

export interface WebhookAnswer {
  status: number;
  contentType: string;
  /** Text; a plain-mode text reply comes as its UTF-8 bytes (see answerBody). */
  body: string | Buffer;
}

/** Openids the simulator uses: replies beyond the first are reported, never sent to WeChat. */
export const SIMULATOR_OPENID_PREFIX = 'simulator-';

/** The key WeChat's retries share: MsgId, or sender + CreateTime (+ event) for events. */
export function messageKey(f: Record<string, string>): string {
  if (f.MsgId && /^\d{1,30}$/.test(f.MsgId)) return `m:${f.MsgId}`;
  return `e:${(f.FromUserName ?? '').slice(0, 64)}:${(f.CreateTime ?? '').slice(0, 20)}:${(f.Event ?? f.MsgType ?? '').slice(0, 30)}`;
}

/**
 * The end of a text reply, `<Content>...</Content></xml>`, as UTF-8, made once per reply object:
 * a rule's replies live as long as its rule set's compiled matcher, so each message that rule
 * answers reuses them. A reply text is mostly two-byte (Chinese) and V8 encodes such strings a
 * character at a time, once for Fastify's Content-Length (`Buffer.byteLength`) and once more for
 * the socket's `writev`: ~13k instructions of a ~275k message (callgrind, bench/README.md, a ninth
 * pass). As bytes, the length is known and `writev` copies them.
 */
const textEnds = new WeakMap<Reply, Buffer>();

function textReplyBytes(to: string, from: string, reply: Reply & { type: 'text' }, createTime: number): Buffer {
  let end = textEnds.get(reply);
  if (!end) {
    end = Buffer.from(`<Content>${cdata(reply.text)}</Content></xml>`);
    textEnds.set(reply, end);
  }
  // textReplyXml's bytes (protocol.test.ts compares them), the head being the openids and the time.
  const head = `<xml><ToUserName>${cdata(to)}</ToUserName><FromUserName>${cdata(from)}</FromUserName><CreateTime>${Math.trunc(createTime)}</CreateTime><MsgType><![CDATA[text]]></MsgType>`;
  return Buffer.concat([Buffer.from(head), end]);
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
  if (first.type === 'text' && !encrypted)
    return { status: 200, contentType: 'application/xml', body: textReplyBytes(to, from, first, a.t) };
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
