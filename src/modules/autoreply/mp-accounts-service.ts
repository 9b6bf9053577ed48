/**
 * Connected official accounts: create (secrets sealed at rest, a random callback id), list, get,
 * delete, and the decrypted view the webhook needs, cached per callback id and revalidated at
 * most every `ttlMs` so a deleted account stops answering everywhere within that time.
 */
import type { DB } from '../../platform/db/index.js';
import type { SecretBox } from '../../platform/crypto/secretbox.js';
import { randomToken } from '../../platform/crypto/tokens.js';
import { isEncodingAesKey } from '../../platform/wechat/message-crypto.js';
import { isUniqueViolation } from '../../platform/db/index.js';
import type { RulesRepo } from './rules-repo.js';
import type { MpAccountRow, WechatRepo } from './wechat-repo.js';
import type { MatcherCache } from './matcher-cache.js';
import { AppError } from '../../platform/http/errors.js';
import { accountNotFound, badInput, limitReached, wechatFailed } from './errors.js';
import { WechatApiError } from '../../platform/wechat/http.js';

/** What the webhook needs about an account, decrypted. */
export interface LiveAccount {
  id: number;
  userId: number;
  ruleSetId: number;
  memberSetId: number;
  callbackId: string;
  appid: string;
  token: string;
  aesKey: string | null;
  secret: string;
  verified: boolean;
}

/** An account as the API shows it: never the secret, the token or the key. */
export interface AccountView {
  id: number;
  appid: string;
  name: string | null;
  callbackUrl: string;
  safeMode: boolean;
  verifiedAt: number | null;
  createdAt: number;
}

export interface AccountInput {
  appid: string;
  secret: string;
  token: string;
  aes_key?: string | null;
  name?: string | null;
}

export function createMpAccountsService(deps: {
  db: DB;
  repo: WechatRepo;
  rulesRepo: RulesRepo;
  cache: MatcherCache;
  secrets: SecretBox;
  publicUrl: string;
  now: () => number;
  ttlMs?: number;
  /** Connected accounts per member (AUTOREPLY_MAX_ACCOUNTS). */
  maxAccounts?: number;
  /**
   * Proves appid + secret with WeChat (an access_token for exactly that pair, from the shared
   * cache or a token request); rejects with WeChat's WechatApiError when WeChat refuses.
   */
  prove: (appid: string, secret: string) => Promise<unknown>;
}) {
  const { db, repo, rulesRepo, secrets, now } = deps;
  const ttl = deps.ttlMs ?? 1000;
  const live = new Map<string, { acc: LiveAccount | null; at: number }>();

  const callbackUrl = (callbackId: string) => `${deps.publicUrl}/wechat/callback/${callbackId}`;
  const view = (r: MpAccountRow): AccountView => ({
    id: Number(r.id),
    appid: r.appid,
    name: r.name,
    callbackUrl: callbackUrl(r.callback_id),
    safeMode: r.aes_key_sealed !== null,
    verifiedAt: r.verified_at === null ? null : Number(r.verified_at),
    createdAt: Number(r.created_at),
  });

  async function load(callbackId: string): Promise<LiveAccount | null> {
    const r = await repo.accountByCallbackId(callbackId);
    if (!r) return null;
    let member = await rulesRepo.findMemberSet(Number(r.user_id));
    if (!member) {
      await rulesRepo.insertMemberSet(Number(r.user_id), now());
      member = await rulesRepo.findMemberSet(Number(r.user_id));
    }
    return {
      id: Number(r.id),
      userId: Number(r.user_id),
      ruleSetId: Number(r.rule_set_id),
      memberSetId: Number(member!.id),
      callbackId: r.callback_id,
      appid: r.appid,
      token: secrets.open(r.token_sealed),
      aesKey: r.aes_key_sealed ? secrets.open(r.aes_key_sealed) : null,
      secret: secrets.open(r.secret_sealed),
      verified: r.verified_at !== null,
    };
  }

  async function proveWithWechat(appid: string, secret: string): Promise<void> {
    try {
      await deps.prove(appid, secret);
    } catch (err) {
      if (err instanceof WechatApiError) {
        throw new AppError('wechat_refused', `WeChat refused this appid and secret: errcode ${err.errcode}, ${err.errmsg}`, 400, {
          errcode: err.errcode,
          errmsg: err.errmsg,
        });
      }
      throw wechatFailed(`WeChat could not be asked to confirm the appid and secret; try again (${(err as Error).message})`);
    }
  }

  async function own(userId: number, id: number): Promise<MpAccountRow> {
    const r = await repo.accountById(id);
    if (!r || Number(r.user_id) !== userId) throw accountNotFound();
    return r;
  }

  return {
    callbackUrl,
    async create(userId: number, input: AccountInput): Promise<AccountView> {
      if (!/^wx[0-9a-zA-Z]{6,30}$/.test(input.appid ?? '')) throw badInput('appid looks like wx followed by 16 letters or digits');
      if (!/^[0-9a-zA-Z]{16,64}$/.test(input.secret ?? '')) throw badInput('secret is the AppSecret (letters and digits)');
      if (!/^[0-9a-zA-Z]{3,32}$/.test(input.token ?? '')) throw badInput('token is 3-32 letters or digits, as WeChat requires');
      if (input.aes_key && !isEncodingAesKey(input.aes_key)) throw badInput('aes_key is the 43-character EncodingAESKey');
      // A member at the cap is told so before WeChat is asked anything (the count in the
      // transaction below is the one that holds under concurrency).
      const max = deps.maxAccounts ?? 10;
      if ((await repo.countAccountsOfUser(userId)) >= max) {
        throw limitReached(`at most ${max} connected official accounts per member; disconnect one first`, { limit: 'accounts', max });
      }
      // Nothing is saved until WeChat says this secret is the appid's: every connection, the
      // first or another member's of an appid already connected, proves it again (issue 10 item 1).
      await proveWithWechat(input.appid, input.secret);
      const t = now();
      const callbackId = randomToken(16);
      try {
        const id = await db.transaction().execute(async (trx) => {
          // The member's lock, then the count: parallel connects cannot all pass the cap.
          await rulesRepo.insertMemberSet(userId, t, trx);
          await rulesRepo.lockMember(userId, trx);
          if ((await repo.countAccountsOfUser(userId, trx)) >= max) {
            throw limitReached(`at most ${max} connected official accounts per member; disconnect one first`, { limit: 'accounts', max });
          }
          const setId = await rulesRepo.insertAccountSet(userId, t, trx);
          return repo.insertAccount(
            {
              user_id: userId,
              rule_set_id: setId,
              callback_id: callbackId,
              appid: input.appid,
              name: input.name?.trim() || null,
              secret_sealed: secrets.seal(input.secret),
              token_sealed: secrets.seal(input.token),
              aes_key_sealed: input.aes_key ? secrets.seal(input.aes_key) : null,
              created_at: t,
            },
            trx,
          );
        });
        return view((await repo.accountById(id))!);
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('account_exists', 'this official account is already connected', 409);
        throw err;
      }
    },
    /** Connected accounts against the cap. */
    async usage(userId: number): Promise<{ accounts: number; maxAccounts: number }> {
      return { accounts: await repo.countAccountsOfUser(userId), maxAccounts: deps.maxAccounts ?? 10 };
    },
    async list(userId: number): Promise<AccountView[]> {
      return (await repo.accountsOfUser(userId)).map(view);
    },
    async get(userId: number, id: number): Promise<AccountView> {
      return view(await own(userId, id));
    },
    /** The account's rule set id, after checking the member owns it. */
    async ruleSetOf(userId: number, id: number): Promise<number> {
      return Number((await own(userId, id)).rule_set_id);
    },
    async remove(userId: number, id: number): Promise<void> {
      const r = await own(userId, id);
      await db.transaction().execute(async (trx) => {
        await repo.deleteAccount(id, trx);
        await rulesRepo.deleteAllRules(Number(r.rule_set_id), trx);
        await rulesRepo.deleteSet(Number(r.rule_set_id), trx);
      });
      live.delete(r.callback_id);
      deps.cache.invalidate(Number(r.rule_set_id));
    },
    /** The decrypted account behind a callback id (null when none), fresh within ttl. */
    async byCallbackId(callbackId: string): Promise<LiveAccount | null> {
      if (!/^[A-Za-z0-9_-]{10,64}$/.test(callbackId)) return null;
      const hit = live.get(callbackId);
      const t = now();
      if (hit && t - hit.at < ttl) return hit.acc;
      const acc = await load(callbackId);
      live.set(callbackId, { acc, at: t });
      if (live.size > 10_000) live.delete(live.keys().next().value!);
      return acc;
    },
    async liveById(userId: number, id: number): Promise<LiveAccount> {
      const r = await own(userId, id);
      return (await load(r.callback_id))!;
    },
    /** appid and secret of an account, for the customer-service job (undefined once disconnected). */
    async credentialsById(id: number): Promise<{ appid: string; secret: string } | undefined> {
      const r = await repo.accountById(id);
      return r ? { appid: r.appid, secret: secrets.open(r.secret_sealed) } : undefined;
    },
    async markVerified(acc: LiveAccount): Promise<void> {
      if (acc.verified) return;
      await repo.markVerified(acc.id, now());
      acc.verified = true;
    },
  };
}

export type MpAccountsService = ReturnType<typeof createMpAccountsService>;
