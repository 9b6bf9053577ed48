/**
 * Replies beyond the first (a rule in "all" mode with several replies) go out through WeChat's
 * customer-service message API, after the passive reply. They are a durable job, not a promise
 * left floating: the job is written only by the first delivery of a message (so WeChat's retries
 * never send twice), survives a restart, is retried when WeChat is unreachable, and is shared by
 * instances on PostgreSQL (the jobs table, SKIP LOCKED claims). The payload never holds the account's secret.
 */
import type { JobQueue } from '../../platform/jobs/types.js';
import { PermanentJobError } from '../../platform/jobs/types.js';
import type { Logger } from '../../platform/logger.js';
import type { MpApi, MpCredentials } from '../../platform/wechat/mp-api.js';
import { WechatApiError } from '../../platform/wechat/http.js';
import type { Reply } from './replies.js';

export const EXTRA_REPLIES_KIND = 'autoreply.extra-replies';

export interface ExtraRepliesPayload {
  /** A connected account's id. */
  accountId: number;
  openid: string;
  /** Still to send, in order. */
  replies?: Reply[];
  /** Payloads written before replies had kinds: texts still to send. */
  texts?: string[];
}

/** errcodes worth a retry (WeChat busy); any other errcode will not get better by retrying. */
const TRANSIENT_ERRCODES = new Set([-1, 45009]);

export function extraRepliesKey(accountId: number, msgKey: string): string {
  return `${EXTRA_REPLIES_KIND}:${accountId}:${msgKey}`;
}

/**
 * Defines the job. `credentials` answers the account's appid and secret (undefined once the
 * account is disconnected: nothing is sent then).
 */
export function defineExtraReplies(deps: {
  jobs: JobQueue;
  api: MpApi;
  logger: Logger;
  credentials: (accountId: number) => Promise<MpCredentials | undefined>;
}): void {
  const { jobs, api, logger } = deps;
  jobs.define<ExtraRepliesPayload>(EXTRA_REPLIES_KIND, {
    maxAttempts: 5,
    // WeChat accepts customer-service messages for 48 h after the follower's message; a few
    // quick retries cover a blip, more would only deliver a stale answer.
    backoffMs: (attempt) => Math.min(60_000, 2_000 * 2 ** (attempt - 1)),
    async handler(p, ctx) {
      const creds = await deps.credentials(p.accountId);
      if (!creds) return;
      const list: Reply[] = p.replies ?? (p.texts ?? []).map((text) => ({ type: 'text' as const, text }));
      for (let i = 0; i < list.length; i++) {
        const r = list[i];
        try {
          if (r.type === 'image') await api.sendImage(creds, p.openid, r.mediaId);
          else if (r.type === 'news') await api.sendNews(creds, p.openid, r);
          else await api.sendText(creds, p.openid, r.text);
        } catch (err) {
          const permanent = err instanceof WechatApiError && !TRANSIENT_ERRCODES.has(err.errcode);
          if (i > 0) {
            // Keep the order and never repeat what went out: the rest becomes its own job.
            if (!permanent)
              await jobs.enqueue(
                EXTRA_REPLIES_KIND,
                { accountId: p.accountId, openid: p.openid, replies: list.slice(i) },
                { singletonKey: `${ctx.jobId}:${i}` },
              );
            else logger.warn({ err: (err as Error).message, accountId: p.accountId }, 'customer-service message refused by WeChat');
            return;
          }
          if (permanent) throw new PermanentJobError((err as Error).message);
          throw err;
        }
      }
    },
    async onFailed(p, error) {
      logger.warn({ err: error.message, accountId: p.accountId }, 'customer-service messages not sent');
    },
  });
}
