/**
 * One official account's side of WeChat's message webhook: checks a callback request (signature,
 * timestamp age, safe-mode msg_signature, decryption, XML) and wraps a reply (encrypted and
 * signed in safe mode). Pure functions of the account's settings; no I/O.
 */
import { randomBytes } from 'node:crypto';
import { checkSignature, isFreshTimestamp, wechatSignature, DEFAULT_MAX_AGE_SECONDS } from './signature.js';
import { decryptMessage, encryptMessage, WechatCryptoError } from './message-crypto.js';
import { buildXml, parseWechatXml, XmlRefusedError } from './xml.js';

export interface CallbackAccount {
  appid: string;
  token: string;
  /** EncodingAESKey; needed to read safe-mode messages and to answer them. */
  aesKey?: string | null;
}

export interface CallbackQuery {
  signature?: string;
  timestamp?: string;
  nonce?: string;
  echostr?: string;
  encrypt_type?: string;
  msg_signature?: string;
  openid?: string;
}

/** Why a callback request was refused; `status` is the HTTP status we answer with. */
export class CallbackRefused extends Error {
  constructor(
    message: string,
    readonly status: 400 | 401 | 403 | 413,
  ) {
    super(message);
    this.name = 'CallbackRefused';
  }
}

export interface InboundMessage {
  /** The message's fields (ToUserName, FromUserName, CreateTime, MsgType, Content, MsgId, Event, EventKey, ...). */
  fields: Record<string, string>;
  /** True when it came encrypted, so the reply must be encrypted too. */
  encrypted: boolean;
}

function checkFresh(q: CallbackQuery, nowMs: number, maxAge: number): void {
  if (!q.timestamp || !q.nonce) throw new CallbackRefused('timestamp and nonce are required', 400);
  if (!isFreshTimestamp(q.timestamp, nowMs, maxAge)) throw new CallbackRefused('timestamp is missing or too old', 403);
}

/** GET verification: answers the echostr when the signature is right. */
export function verifyEcho(account: CallbackAccount, q: CallbackQuery, nowMs: number, maxAge = DEFAULT_MAX_AGE_SECONDS): string {
  checkFresh(q, nowMs, maxAge);
  if (!checkSignature(q.signature, account.token, q.timestamp!, q.nonce!)) throw new CallbackRefused('invalid signature', 401);
  if (!q.echostr || q.echostr.length > 200) throw new CallbackRefused('echostr is required', 400);
  return q.echostr;
}

function readXml(body: string): Record<string, string> {
  try {
    return parseWechatXml(body);
  } catch (err) {
    if (err instanceof XmlRefusedError) throw new CallbackRefused(err.message, /large/.test(err.message) ? 413 : 400);
    throw err;
  }
}

/**
 * POST: checks and opens one message, plain or safe mode. The body is read only after a check
 * that needs no body: in plain mode (no `encrypt_type=aes`) the signature over token, timestamp
 * and nonce; in safe mode that same signature when WeChat sent it (it always does), then the
 * msg_signature over the Encrypt field. A forged request is refused before its body is looked at.
 */
export function openMessage(
  account: CallbackAccount,
  q: CallbackQuery,
  body: string,
  nowMs: number,
  maxAge = DEFAULT_MAX_AGE_SECONDS,
): InboundMessage {
  checkFresh(q, nowMs, maxAge);
  const saidSafe = q.encrypt_type === 'aes';
  if ((!saidSafe || q.signature !== undefined) && !checkSignature(q.signature, account.token, q.timestamp!, q.nonce!))
    throw new CallbackRefused('invalid signature', 401);
  const outer = readXml(body);
  // A body that is only <Encrypt> with no encrypt_type in the query still goes the safe way.
  const safe = saidSafe || (outer.Encrypt !== undefined && outer.MsgType === undefined);
  if (!safe) return { fields: outer, encrypted: false };
  if (!account.aesKey) throw new CallbackRefused('this account has no EncodingAESKey for safe mode', 400);
  const enc = outer.Encrypt;
  if (!enc) throw new CallbackRefused('Encrypt is missing', 400);
  if (!checkSignature(q.msg_signature, account.token, q.timestamp!, q.nonce!, enc)) throw new CallbackRefused('invalid msg_signature', 401);
  let inner: string;
  try {
    inner = decryptMessage(account.aesKey, account.appid, enc);
  } catch (err) {
    if (err instanceof WechatCryptoError) throw new CallbackRefused(`cannot decrypt: ${err.message}`, 400);
    throw err;
  }
  try {
    return { fields: parseWechatXml(inner), encrypted: true };
  } catch (err) {
    if (err instanceof XmlRefusedError) throw new CallbackRefused(err.message, 400);
    throw err;
  }
}

/** Wraps a reply: as is in plain mode; encrypted with a fresh msg_signature in safe mode. */
export function wrapReply(account: CallbackAccount, replyXml: string, encrypted: boolean, nowMs: number): string {
  if (!encrypted) return replyXml;
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(8).toString('hex');
  const enc = encryptMessage(account.aesKey!, account.appid, replyXml);
  return buildXml({
    Encrypt: enc,
    MsgSignature: wechatSignature(account.token, timestamp, nonce, enc),
    TimeStamp: Number(timestamp),
    Nonce: nonce,
  });
}

/**
 * Builds a request WeChat would send (for the simulator and tests): query and body, signed, and
 * encrypted when `encrypt` is set.
 */
export function buildInbound(
  account: CallbackAccount,
  fields: Record<string, string | number>,
  nowMs: number,
  encrypt: boolean,
): { query: Record<string, string>; body: string } {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(8).toString('hex');
  const plain = buildXml(fields);
  const query: Record<string, string> = { timestamp, nonce, signature: wechatSignature(account.token, timestamp, nonce) };
  if (typeof fields.FromUserName === 'string') query.openid = fields.FromUserName;
  if (!encrypt) return { query, body: plain };
  if (!account.aesKey) throw new Error('safe mode needs the EncodingAESKey');
  const enc = encryptMessage(account.aesKey, account.appid, plain);
  query.encrypt_type = 'aes';
  query.msg_signature = wechatSignature(account.token, timestamp, nonce, enc);
  return { query, body: buildXml({ ToUserName: String(fields.ToUserName ?? ''), Encrypt: enc }) };
}

/** Opens a reply our callback produced (simulator and tests): decrypts and checks it in safe mode. */
export function openReply(account: CallbackAccount, body: string): Record<string, string> | null {
  if (body === 'success' || body === '') return null;
  // Nested elements too: an image reply's Image.MediaId, a news reply's Articles.item.Title, ...
  const outer = parseWechatXml(body, { nested: true });
  if (outer.Encrypt === undefined) return outer;
  if (!checkSignature(outer.MsgSignature, account.token, outer.TimeStamp, outer.Nonce, outer.Encrypt))
    throw new Error('reply has a wrong MsgSignature');
  return parseWechatXml(decryptMessage(account.aesKey!, account.appid, outer.Encrypt), { nested: true });
}
