/**
 * The webhook of member-connected accounts (/wechat/callback/<callback id>): verifies, matches
 * the message against the account's rules then the owner's own rules, and answers within
 * WeChat's 5 s with in-memory matching and one or two indexed queries. A message WeChat retries
 * is answered from the stored answer; side effects (default-reply time, extra replies) happen
 * only for the first delivery.
 */
import type { DB } from '../../platform/db/index.js';
import type { JobQueue } from '../../platform/jobs/types.js';
import { openMessage, verifyEcho } from '../../platform/wechat/callback.js';
import type { MatcherCache, RuleSetSnapshot } from './matcher-cache.js';
import type { MpAccountsService, LiveAccount } from './mp-accounts-service.js';
import type { WechatRepo } from './wechat-repo.js';
import {
  answerBody,
  messageKey,
  refusedOr,
  SIMULATOR_OPENID_PREFIX,
  storedAnswerJson,
  textReplies,
  type StoredAnswer,
  type WebhookAnswer,
} from './webhook-common.js';
import type { Reply } from './replies.js';
import { createClaimBatcher } from './claim-batcher.js';
import { EXTRA_REPLIES_KIND, extraRepliesKey, type ExtraRepliesPayload } from './extra-replies.js';

/** A default reply goes to the same follower at most this often. */
export const DEFAULT_REPLY_EVERY_MS = 3600_000;

const notFound: WebhookAnswer = { status: 404, contentType: 'text/plain', body: 'unknown callback' };

export function createWebhookService(deps: {
  db: DB;
  accounts: MpAccountsService;
  cache: MatcherCache;
  repo: WechatRepo;
  jobs: Pick<JobQueue, 'enqueue'>;
  now: () => number;
}) {
  const { db, accounts, cache, repo, jobs, now } = deps;
  const batcher = createClaimBatcher(repo);
  // Default replies this process knows were sent: another instance can only have sent one more
  // recently, so a hit here is safe to trust without asking the database (misses still ask).
  const recentDefaults = new Map<string, number>();
  const remember = (k: string, at: number) => {
    recentDefaults.delete(k);
    recentDefaults.set(k, at);
    if (recentDefaults.size > 100_000) recentDefaults.delete(recentDefaults.keys().next().value!);
  };

  // One Reply object per default-reply text, so the bytes answerBody encodes for a reply object
  // are made once per text rather than once per message (webhook-common.ts, textReplyBytes).
  const defaultReplies = new Map<string, Reply[]>();
  const defaultRepliesOf = (text: string): Reply[] => {
    let r = defaultReplies.get(text);
    if (!r) {
      if (defaultReplies.size >= 1000) defaultReplies.clear();
      r = textReplies([text]);
      defaultReplies.set(text, r);
    }
    return r;
  };

  /**
   * Records the message (true for its first delivery). Replies beyond the first become a job in
   * the same transaction, so a message is either unrecorded or recorded with its extras queued;
   * a default reply's time (`usedDefault`) is kept in that same transaction or group commit.
   */
  async function claim(
    acc: LiveAccount,
    key: string,
    openid: string | undefined,
    replies: Reply[],
    answer: { t: number; replies: Reply[] },
    usedDefault: boolean,
  ): Promise<boolean> {
    const extras = replies.length > 1 && openid && !openid.startsWith(SIMULATOR_OPENID_PREFIX) ? replies.slice(1) : [];
    const mark = usedDefault && openid ? { accountId: acc.id, openid, at: now() } : undefined;
    const json = storedAnswerJson(answer);
    if (!extras.length) return batcher.claim({ account_key: `a${acc.id}`, msg_key: key, answer: json, created_at: now() }, mark);
    return db.transaction().execute(async (trx) => {
      if (!(await repo.claimMessage(`a${acc.id}`, key, json, now(), trx))) return false;
      const payload: ExtraRepliesPayload = { accountId: acc.id, openid: openid!, replies: extras };
      await jobs.enqueue(EXTRA_REPLIES_KIND, payload, { trx, singletonKey: extraRepliesKey(acc.id, key) });
      if (mark) await repo.setDefaultReplied(mark.accountId, mark.openid, mark.at, trx);
      return true;
    });
  }

  /** Decides the answer, without side effects. */
  async function decide(
    acc: LiveAccount,
    f: Record<string, string>,
    own: RuleSetSnapshot | undefined,
    member: RuleSetSnapshot | undefined,
  ): Promise<{ replies: Reply[]; usedDefault: boolean }> {
    if (!own || !member || !own.enabled || !member.enabled) return { replies: [], usedDefault: false };
    if (f.MsgType === 'event') {
      const follow = f.Event === 'subscribe' ? (own.followReply ?? member.followReply) : null;
      return { replies: textReplies(follow ? [follow] : []), usedDefault: false };
    }
    const content = f.MsgType === 'text' ? f.Content : f.MsgType === 'voice' ? f.Recognition : undefined;
    const rule = content ? (own.matcher.match(content) ?? member.matcher.match(content)) : undefined;
    if (rule) {
      const replies = rule.mode === 'random' ? [rule.replies[Math.floor(Math.random() * rule.replies.length)]] : rule.replies;
      return { replies, usedDefault: false };
    }
    const fallback = own.defaultReply ?? member.defaultReply;
    if (!fallback || !f.FromUserName) return { replies: [], usedDefault: false };
    const k = `${acc.id}\n${f.FromUserName}`;
    const known = recentDefaults.get(k);
    if (known !== undefined && now() - known < DEFAULT_REPLY_EVERY_MS) return { replies: [], usedDefault: false };
    const last = await repo.lastDefaultReply(acc.id, f.FromUserName);
    if (last !== undefined && now() - last < DEFAULT_REPLY_EVERY_MS) {
      remember(k, last);
      return { replies: [], usedDefault: false };
    }
    return { replies: defaultRepliesOf(fallback), usedDefault: true };
  }

  return {
    /** GET: WeChat's URL verification; marks the account verified. */
    async verify(callbackId: string, query: Record<string, string>): Promise<WebhookAnswer> {
      const acc = await accounts.byCallbackId(callbackId);
      if (!acc) return notFound;
      const echo = refusedOr(() => verifyEcho(acc, query, now()));
      if ('refused' in echo) return echo.refused;
      await accounts.markVerified(acc);
      return { status: 200, contentType: 'text/plain', body: echo.ok };
    },

    /** POST: one message or event. */
    async receive(callbackId: string, query: Record<string, string>, body: string): Promise<WebhookAnswer> {
      const acc = await accounts.byCallbackId(callbackId);
      if (!acc) return notFound;
      const opened = refusedOr(() => openMessage(acc, query, body, now()));
      if ('refused' in opened) return opened.refused;
      const msg = opened.ok;
      const f = msg.fields;
      const [own, member] = await cache.get([acc.ruleSetId, acc.memberSetId]);
      const { replies, usedDefault } = await decide(acc, f, own, member);
      const made = { t: Math.floor(now() / 1000), replies };
      let answer: StoredAnswer = made;
      // Every message is recorded (not only answered ones) so a retry is answered as the first
      // delivery was even if the rules changed in between.
      const key = messageKey(f);
      const first = await claim(acc, key, f.FromUserName, replies, made, usedDefault);
      if (first) {
        if (usedDefault) remember(`${acc.id}\n${f.FromUserName}`, now());
      } else {
        const stored = await repo.storedAnswer(`a${acc.id}`, key);
        if (stored?.answer) answer = JSON.parse(stored.answer) as StoredAnswer;
      }
      return answerBody(acc, f, answer, msg.encrypted, now());
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
