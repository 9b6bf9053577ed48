/**
 * Members of the auto-reply assistant, on the accounts module's `users` and `sessions` (kind
 * 'autoreply'): registration with the platform account's code (which binds the follower's
 * openid), login, sessions, the "scan to bind" QR, the on/off switch, and the seed's flat view of
 * a member's own rules.
 */
import type { DB } from '../../platform/db/index.js';
import type { Logger } from '../../platform/logger.js';
import { randomToken } from '../../platform/crypto/tokens.js';
import { clientKey, windowRule, type AttemptLimiter } from '../../platform/limits/attempts.js';
import { RateLimitedError } from '../../platform/http/errors.js';
import type { MpApi, MpCredentials } from '../../platform/wechat/mp-api.js';
import { renderQrPng } from '../../platform/wechat/mp-api.js';
import { DuplicateUserError, passwordProblem, type AccountsService, type SignIn } from '../accounts/index.js';
import type { RulesService, RuleInput } from './rules-service.js';
import { parsePositionKey, positionKey } from './rules-service.js';
import { replySummary } from './replies.js';
import type { WechatRepo } from './wechat-repo.js';
import { REGISTER_SCENE, type Hasher } from './platform-service.js';
import {
  badCode,
  badInput,
  badLogin,
  notActivated,
  weakPassword,
  qrInProgress,
  ruleNotFound,
  usernameTaken,
  wechatFailed,
  wechatNotConfigured,
} from './errors.js';

export const SESSION_KIND = 'autoreply';
/** How long a bind QR code stays valid (seconds). */
export const QR_TTL_SECONDS = 600;
/** The register page's follow QR: WeChat's longest temporary code (30 days), renewed a day early. */
const FOLLOW_QR_SECONDS = 30 * 86_400;
const USERNAME = /^[A-Za-z0-9_.-]{3,30}$/;
/** Wrong registration codes (6 digits), kept in the database for the whole fleet. */
export const CODE_LIMITS = {
  perClient: { limit: 10, windowMs: 15 * 60_000 },
  overall: { limit: 300, windowMs: 15 * 60_000 },
} as const;

/** The seed's view of a member's rules: {"01": {"keyword": "reply"}, ...}. */
export type SeedView = Record<string, Record<string, string>>;

export function createMembersService(deps: {
  db: DB;
  accounts: AccountsService;
  /** The members' one door (accounts/sign-in.ts): the same lockout as `/v1/tokens`. */
  signIn: SignIn;
  limiter: AttemptLimiter;
  rules: RulesService;
  repo: WechatRepo;
  hash: Hasher;
  api: MpApi;
  /** The platform account; null when WeChat is not configured. */
  mp: MpCredentials | null;
  logger: Logger;
  now: () => number;
}) {
  const { accounts, rules, repo, now } = deps;
  const platformAppid = deps.mp?.appid ?? 'unconfigured';
  // Codes are 6 digits: each guess is reserved per client and overall before it is looked up.
  const codeKeys = (ip: string) => ({ client: `arcode:client:${clientKey(ip)}`, all: 'arcode:*' });

  async function memberSetId(userId: number): Promise<number> {
    return Number((await rules.memberSet(userId)).id);
  }

  /** Turns the seed's {"received": "reply", ...} body into rules (one keyword, one reply each). */
  function pairsToRules(body: Record<string, unknown>): RuleInput[] {
    const entries = Object.entries(body ?? {}).filter(([k]) => k !== 'csrf_token' && k !== 'csrfmiddlewaretoken');
    if (!entries.length) throw badInput('send at least one "received text": "reply" pair');
    return entries.map(([k, v]) => {
      if (typeof v !== 'string') throw badInput(`the reply for "${k}" must be text`);
      return { keywords: [{ text: k, match: 'equal' as const }], replies: [v] };
    });
  }

  // One follow QR per process, made on first use; concurrent first requests share one call.
  let followQr: { png: Buffer; expiresAt: number } | null = null;
  let followQrPending: Promise<Buffer> | null = null;
  // The route is public: after a failure, answer the same error for a minute instead of calling WeChat again.
  let followQrFailure: { error: Error; at: number } | null = null;

  return {
    platformAppid,
    wechatConfigured: !!deps.mp,

    /** The platform account's QR code (PNG) for the register page: scanning it follows and brings a code. */
    async followQrImage(): Promise<Buffer> {
      const mp = deps.mp;
      if (!mp) throw wechatNotConfigured();
      if (followQr && followQr.expiresAt - now() > 86_400_000) return followQr.png;
      if (followQrFailure && now() - followQrFailure.at < 60_000) throw followQrFailure.error;
      followQrPending ??= (async () => {
        try {
          const qr = await deps.api.createSceneQr(mp, REGISTER_SCENE, FOLLOW_QR_SECONDS);
          followQr = { png: await renderQrPng(qr.url), expiresAt: now() + qr.expireSeconds * 1000 };
          followQrFailure = null;
          return followQr.png;
        } catch (err) {
          deps.logger.warn({ err: (err as Error).message }, 'follow QR code not made');
          const error = wechatFailed(`WeChat did not make the QR code: ${(err as Error).message}`);
          followQrFailure = { error, at: now() };
          throw error;
        } finally {
          followQrPending = null;
        }
      })();
      return followQrPending;
    },

    async register(input: { username: string; password: string; code: string }, ip: string): Promise<{ id: number }> {
      if (!USERNAME.test(input.username)) throw badInput('username: 3 to 30 letters, digits, "_", "." or "-"');
      const problem = await passwordProblem(input.password, input.username);
      if (problem) throw weakPassword(problem.message, problem.reason);
      const k = codeKeys(ip);
      const reserved = await deps.limiter.reserve([
        windowRule(k.client, CODE_LIMITS.perClient.limit, CODE_LIMITS.perClient.windowMs),
        windowRule(k.all, CODE_LIMITS.overall.limit, CODE_LIMITS.overall.windowMs),
      ]);
      if (!reserved.ok) throw new RateLimitedError(reserved.retryAfterMs);
      const code = /^\d{6}$/.test(input.code) ? await repo.codeByHash(deps.hash('code', input.code)) : undefined;
      if (!code || code.used_at !== null || Number(code.expires_at) <= now() || code.appid !== platformAppid) throw badCode();
      // A right code is no guess: give the attempt back.
      await deps.limiter.refund([k.client, k.all]);
      if (await repo.bindingByOpenid(code.appid, code.openid)) throw badCode('this WeChat is already bound to a member: log in instead');
      if (await accounts.findByUsername(input.username)) throw usernameTaken();
      if (!(await repo.useCode(Number(code.id), now()))) throw badCode();
      let user;
      try {
        user = await accounts.createUser({ username: input.username, password: input.password, isActive: true });
      } catch (err) {
        await repo.unuseCode(Number(code.id));
        if (err instanceof DuplicateUserError) throw usernameTaken();
        throw err;
      }
      await repo.bind(code.appid, code.openid, user.id, now());
      await rules.memberSet(user.id);
      return { id: user.id };
    },

    async login(input: { username: string; password: string }, ip: string): Promise<{ id: number; token: string; expiresAt: number }> {
      const r = await deps.signIn.signIn(input.username, input.password, ip);
      if (!r.ok) {
        if (r.reason === 'throttled') throw new RateLimitedError(r.retryAfterMs);
        if (r.reason === 'not_activated') throw notActivated();
        throw badLogin();
      }
      const user = r.member;
      const s = await accounts.createSession(user.id, SESSION_KIND);
      await rules.memberSet(user.id);
      return { id: user.id, ...s };
    },

    /** Revokes the assistant session of `token`; false when there was none (signed out already). */
    async logout(token: string | undefined): Promise<boolean> {
      if (!token || !(await accounts.resolveSession(token, SESSION_KIND))) return false;
      return accounts.revokeSession(token);
    },

    /** The member behind a session token, or null. */
    async resolve(token: string | undefined): Promise<{ id: number; username: string } | null> {
      if (!token) return null;
      const s = await accounts.resolveSession(token, SESSION_KIND);
      return s ? { id: s.user.id, username: s.user.username } : null;
    },

    async profile(userId: number) {
      const [member, set, binding] = await Promise.all([
        accounts.findById(userId),
        rules.memberSet(userId),
        repo.bindingOfUser(platformAppid, userId),
      ]);
      return {
        id: userId,
        username: member?.username ?? '',
        enabled: set.enabled === 1,
        wechatBound: !!binding,
        wechatConfigured: !!deps.mp,
      };
    },

    /** Makes a temporary QR code that binds the scanner's WeChat to this member; answers its pid. */
    async makeBindQr(userId: number): Promise<{ pid: string; expiresAt: number }> {
      if (!deps.mp) throw wechatNotConfigured();
      if (await repo.pendingQrOfUser(userId, now())) throw qrInProgress();
      const pid = randomToken(16);
      const scene = `b${randomToken(16)}`;
      const expiresAt = now() + QR_TTL_SECONDS * 1000;
      await repo.insertQr({ pid, scene_hash: deps.hash('scene', scene), user_id: userId, expires_at: expiresAt, created_at: now() });
      try {
        const qr = await deps.api.createSceneQr(deps.mp, scene, QR_TTL_SECONDS);
        await repo.finishQr(pid, await renderQrPng(qr.url));
      } catch (err) {
        await repo.finishQr(pid, null);
        deps.logger.warn({ err: (err as Error).message }, 'bind QR code not made');
        throw wechatFailed(`WeChat did not make the QR code: ${(err as Error).message}`);
      }
      return { pid, expiresAt };
    },

    /** The PNG of a live QR code, or null. */
    async qrImage(pid: string): Promise<Buffer | null> {
      if (!/^[A-Za-z0-9_-]{10,64}$/.test(pid)) return null;
      const r = await repo.qrByPid(pid);
      if (!r || r.state !== 'ready' || !r.png || Number(r.expires_at) < now()) return null;
      return Buffer.from(r.png);
    },

    async enabled(userId: number): Promise<boolean> {
      return (await rules.memberSet(userId)).enabled === 1;
    },
    async setEnabled(userId: number, enabled: boolean): Promise<void> {
      await rules.settings(await memberSetId(userId), { enabled });
    },

    async seedView(userId: number): Promise<SeedView> {
      const view: SeedView = {};
      for (const r of await rules.list(await memberSetId(userId))) {
        const pairs: Record<string, string> = {};
        // The seed's view is text only: an image or a link card shows as its one-line summary.
        for (const k of r.keywords) pairs[k.text] = replySummary(r.replies[0]);
        view[positionKey(r.position)] = pairs;
      }
      return view;
    },
    async seedAdd(userId: number, body: Record<string, unknown>): Promise<string[]> {
      const setId = await memberSetId(userId);
      const ids = await rules.create(setId, pairsToRules(body));
      const all = await rules.list(setId);
      return ids.map((id) => positionKey(all.find((r) => r.id === id)!.position));
    },
    async seedDelete(userId: number, key: string): Promise<void> {
      const pos = parsePositionKey(key);
      if (pos === undefined) throw ruleNotFound(`no rule with key ${key}`);
      const setId = await memberSetId(userId);
      await rules.remove(setId, await rules.ruleIdByPosition(setId, pos));
    },
    /** Replaces the rule at `key` with the pair(s) sent (keywords -> the first reply). */
    async seedUpdate(userId: number, key: string, body: Record<string, unknown>): Promise<void> {
      const pos = parsePositionKey(key);
      if (pos === undefined) throw ruleNotFound(`no rule with key ${key}`);
      const parts = pairsToRules(body);
      if (parts.length > 1) throw badInput('update takes one "received text": "reply" pair');
      const setId = await memberSetId(userId);
      const ruleId = await rules.ruleIdByPosition(setId, pos);
      await rules.update(setId, ruleId, { keywords: parts.flatMap((p) => p.keywords), replies: parts[0].replies });
    },
  };
}

export type MembersService = ReturnType<typeof createMembersService>;
