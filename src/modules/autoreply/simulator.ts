/**
 * The simulator: builds the request WeChat would send (signed; encrypted in safe mode), sends it
 * to a callback through a transport (in-process inject for the API, HTTP for the CLI), and opens
 * the answer. The sender's openid starts with "simulator-", so replies beyond the first are
 * reported, never sent to WeChat.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { buildInbound, openReply, type CallbackAccount } from '../../platform/wechat/callback.js';
import { SIMULATOR_OPENID_PREFIX } from './webhook-common.js';

export interface SimulateInput {
  text?: string;
  /** 'subscribe' (follow) or 'unsubscribe'. */
  event?: 'subscribe' | 'unsubscribe';
  /** Defaults to a fresh simulator openid. */
  openid?: string;
  /** Defaults to safe mode when the account has an EncodingAESKey. */
  encrypt?: boolean;
}

export interface SimulateResult {
  status: number;
  encrypted: boolean;
  request: string;
  /** What the callback answered, as sent. */
  raw: string;
  /** The decrypted reply: its text, "[image] <media_id>" or "[news] <title> <url>" (null when it answered `success`). */
  reply: string | null;
  msgType: string | null;
  elapsedMs: number;
}

export type Transport = (query: Record<string, string>, body: string) => Promise<{ status: number; body: string }>;

export async function simulate(
  acc: CallbackAccount & { originalId?: string },
  input: SimulateInput,
  send: Transport,
  now: () => number,
): Promise<SimulateResult> {
  const openid = input.openid ?? `${SIMULATOR_OPENID_PREFIX}${randomBytes(6).toString('hex')}`;
  const encrypt = input.encrypt ?? !!acc.aesKey;
  const base = { ToUserName: acc.originalId ?? 'gh_simulator', FromUserName: openid, CreateTime: Math.floor(now() / 1000) };
  const fields: Record<string, string | number> = input.event
    ? { ...base, MsgType: 'event', Event: input.event }
    : { ...base, MsgType: 'text', Content: input.text ?? '', MsgId: `${Date.now()}${randomInt(0, 1_000_000)}` };
  const { query, body } = buildInbound(acc, fields, now(), encrypt);
  const t0 = performance.now();
  const res = await send(query, body);
  const elapsedMs = Math.round((performance.now() - t0) * 10) / 10;
  let reply: Record<string, string> | null = null;
  if (res.status === 200) reply = openReply(acc, res.body);
  return {
    status: res.status,
    encrypted: encrypt,
    request: body,
    raw: res.body,
    reply: reply ? replyText(reply) : null,
    msgType: reply?.MsgType ?? null,
    elapsedMs,
  };
}

/** One line for a reply of any type (the simulator panel and the CLI show it). */
function replyText(r: Record<string, string>): string | null {
  if (r.MsgType === 'image') return `[image] ${r['Image.MediaId'] ?? ''}`;
  if (r.MsgType === 'news') return `[news] ${r['Articles.item.Title'] ?? ''} ${r['Articles.item.Url'] ?? ''}`.trim();
  return r.Content ?? null;
}
