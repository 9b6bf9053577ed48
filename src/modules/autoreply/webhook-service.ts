/**
 * The webhook of member-connected accounts (/wechat/callback/<callback id>): verifies, matches
 * the message against the account's rules then the owner's own rules, and answers within
 * WeChat's 5 s with in-memory matching and one or two indexed queries. A message WeChat retries
 * is answered from the stored answer; side effects (default-reply time, extra replies) happen
 * only for the first delivery.
 */
import type { Logger } from '../../platform/logger.js';
import { openMessage, verifyEcho } from '../../platform/wechat/callback.js';
import type { MpApi } from '../../platform/wechat/mp-api.js';
import type { MatcherCache, RuleSetSnapshot } from './matcher-cache.js';
import type { MpAccountsService, LiveAccount } from './mp-accounts-service.js';
import type { WechatRepo } from './wechat-repo.js';
import { answerBody, messageKey, refusal, sendExtrasLater, type StoredAnswer, type WebhookAnswer } from './webhook-common.js';

/** A default reply goes to the same follower at most this often. */
export const DEFAULT_REPLY_EVERY_MS = 3600_000;

const notFound: WebhookAnswer = { status: 404, contentType: 'text/plain', body: 'unknown callback' };

export function createWebhookService(deps: { accounts: MpAccountsService; cache: MatcherCache; repo: WechatRepo; api: MpApi; logger: Logger; now: () => number }) {
  const { accounts, cache, repo, now } = deps;

  /** Decides the answer, without side effects. */
  async function decide(acc: LiveAccount, f: Record<string, string>, own: RuleSetSnapshot | undefined, member: RuleSetSnapshot | undefined): Promise<{ texts: string[]; usedDefault: boolean }> {
    if (!own || !member || !own.enabled || !member.enabled) return { texts: [], usedDefault: false };
    if (f.MsgType === 'event') {
      const follow = f.Event === 'subscribe' ? (own.followReply ?? member.followReply) : null;
      return { texts: follow ? [follow] : [], usedDefault: false };
    }
    const content = f.MsgType === 'text' ? f.Content : f.MsgType === 'voice' ? f.Recognition : undefined;
    const rule = content ? (own.matcher.match(content) ?? member.matcher.match(content)) : undefined;
    if (rule) {
      const texts = rule.mode === 'random' ? [rule.replies[Math.floor(Math.random() * rule.replies.length)]] : rule.replies;
      return { texts, usedDefault: false };
    }
    const fallback = own.defaultReply ?? member.defaultReply;
    if (!fallback || !f.FromUserName) return { texts: [], usedDefault: false };
    const last = await repo.lastDefaultReply(acc.id, f.FromUserName);
    if (last !== undefined && now() - last < DEFAULT_REPLY_EVERY_MS) return { texts: [], usedDefault: false };
    return { texts: [fallback], usedDefault: true };
  }

  return {
    /** GET: WeChat's URL verification; marks the account verified. */
    async verify(callbackId: string, query: Record<string, string>): Promise<WebhookAnswer> {
      const acc = await accounts.byCallbackId(callbackId);
      if (!acc) return notFound;
      try {
        const echo = verifyEcho(acc, query, now());
        await accounts.markVerified(acc);
        return { status: 200, contentType: 'text/plain', body: echo };
      } catch (err) {
        const r = refusal(err);
        if (r) return r;
        throw err;
      }
    },

    /** POST: one message or event. */
    async receive(callbackId: string, query: Record<string, string>, body: string): Promise<WebhookAnswer> {
      const acc = await accounts.byCallbackId(callbackId);
      if (!acc) return notFound;
      let msg;
      try {
        msg = openMessage(acc, query, body, now());
      } catch (err) {
        const r = refusal(err);
        if (r) return r;
        throw err;
      }
      const f = msg.fields;
      const [own, member] = await cache.get([acc.ruleSetId, acc.memberSetId]);
      const { texts, usedDefault } = await decide(acc, f, own, member);
      let answer: StoredAnswer = { t: Math.floor(now() / 1000), texts };
      // Every message is recorded (not only answered ones) so a retry is answered as the first
      // delivery was even if the rules changed in between.
      const key = messageKey(f);
      const first = await repo.claimMessage(`a${acc.id}`, key, JSON.stringify(answer), now());
      if (first) {
        if (usedDefault) await repo.setDefaultReplied(acc.id, f.FromUserName, now());
        sendExtrasLater(deps.api, acc, f.FromUserName ?? '', texts, deps.logger);
      } else {
        const stored = await repo.storedAnswer(`a${acc.id}`, key);
        if (stored?.answer) answer = JSON.parse(stored.answer) as StoredAnswer;
      }
      return answerBody(acc, f, answer, msg.encrypted, now());
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
