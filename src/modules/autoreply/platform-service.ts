/**
 * The platform's own official account (/wechat/callback, WECHAT_MP_*): registration codes on
 * follow or "验证码", binding a member by scanning the QR from /wechat/testlogin (subscribe with
 * qrscene_ or SCAN), and rule commands from bound members. Commands change state, so the first
 * delivery claims the message before acting and retries wait for (and repeat) its answer.
 */
import { createHmac } from 'node:crypto';
import type { DB } from '../../platform/db/index.js';
import type { Logger } from '../../platform/logger.js';
import { isUniqueViolation } from '../../platform/db/index.js';
import { randomDigits } from '../../platform/crypto/tokens.js';
import { openMessage, verifyEcho, type CallbackAccount } from '../../platform/wechat/callback.js';
import { AppError } from '../../platform/http/errors.js';
import type { AccountsService } from '../accounts/index.js';
import type { RulesService } from './rules-service.js';
import { parsePositionKey, positionKey } from './rules-service.js';
import type { WechatRepo } from './wechat-repo.js';
import { answerBody, messageKey, refusedOr, textReplies, type StoredAnswer, type WebhookAnswer } from './webhook-common.js';
import { replySummary } from './replies.js';

/**
 * The scene of the platform account's follow QR shown on the register page: scanning it is a plain
 * follow (or, when already following, a request for a code), never a binding.
 */
export const REGISTER_SCENE = 'register';

/** Registration codes live this long. */
export const CODE_TTL_MS = 10 * 60_000;

/**
 * What the database keeps of a code or a QR scene (never the value): an HMAC keyed with the
 * server's secret key, so a copy of the database alone does not give 6-digit codes away.
 */
export type Hasher = (purpose: 'code' | 'scene', value: string) => string;

export function createHasher(key: Buffer): Hasher {
  return (purpose, value) => createHmac('sha256', key).update(`autoreply-${purpose}:${value}`).digest('hex');
}

const HELP =
  '可用命令：\n添加 关键词 回复 —— 新增一条自动回复\n删除 关键词（或编号）—— 删除\n列表 —— 查看全部\n开启 / 关闭 —— 开关自动回复\n验证码 —— 获取注册验证码\n帮助 —— 显示本说明';

export function createPlatformService(deps: {
  db: DB;
  hash: Hasher;
  account: CallbackAccount | null;
  repo: WechatRepo;
  rules: RulesService;
  accounts: Pick<AccountsService, 'findById'>;
  logger: Logger;
  now: () => number;
}) {
  const { repo, rules, now } = deps;
  const unconfigured: WebhookAnswer = { status: 404, contentType: 'text/plain', body: 'the platform official account is not configured' };

  async function newCode(appid: string, openid: string): Promise<string> {
    await repo.dropOldCodes(appid, openid, now());
    for (let i = 0; i < 8; i++) {
      const code = randomDigits(6);
      try {
        await repo.insertCode({ code_hash: deps.hash('code', code), appid, openid, expires_at: now() + CODE_TTL_MS, created_at: now() });
        return code;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new Error('could not find a free registration code');
  }

  async function codeText(appid: string, openid: string): Promise<string> {
    const code = await newCode(appid, openid);
    return `您的注册验证码：${code}\n10 分钟内有效，仅可使用一次。请在注册页面的「验证码」一栏填写。`;
  }

  async function bindScene(appid: string, openid: string, scene: string): Promise<string> {
    const qr = await repo.qrByScene(deps.hash('scene', scene));
    if (!qr || qr.state !== 'ready' || Number(qr.expires_at) < now()) return '二维码已失效，请在网页上重新获取绑定二维码。';
    const userId = Number(qr.user_id);
    await deps.db
      .transaction()
      .execute(async (trx) => {
        if (!(await repo.useQr(Number(qr.id), trx))) throw new AppError('qr_used', 'used', 409);
        await repo.bind(appid, openid, userId, now(), trx);
      })
      .catch((err) => {
        if (!(err instanceof AppError)) throw err;
      });
    const bound = await repo.bindingByOpenid(appid, openid);
    if (!bound || Number(bound.user_id) !== userId) return '二维码已被使用，请在网页上重新获取。';
    const member = await deps.accounts.findById(userId);
    return `绑定成功：微信已绑定账号「${member?.username ?? userId}」。\n${HELP}`;
  }

  async function command(userId: number, text: string): Promise<string> {
    const set = await rules.memberSet(userId);
    const setId = Number(set.id);
    const add = /^(?:添加|add)\s+(\S+)\s+([\s\S]+)$/i.exec(text);
    if (add) {
      try {
        const [id] = await rules.create(setId, [{ keywords: [{ text: add[1] }], replies: [add[2].trim()] }]);
        const r = await rules.get(setId, id);
        return `已添加 ${positionKey(r.position)}：${add[1]} → ${add[2].trim()}`;
      } catch (err) {
        if (err instanceof AppError)
          return err.code === 'duplicate_keyword' ? `关键词「${add[1]}」已存在，请先删除。` : `未添加：${err.message}`;
        throw err;
      }
    }
    const del = /^(?:删除|del|delete)\s+([\s\S]+)$/i.exec(text);
    if (del) {
      const arg = del[1].trim();
      try {
        const pos = parsePositionKey(arg);
        let ruleId: number;
        try {
          ruleId = pos !== undefined ? await rules.ruleIdByPosition(setId, pos) : await rules.ruleIdByKeyword(setId, arg);
        } catch {
          ruleId = await rules.ruleIdByKeyword(setId, arg);
        }
        await rules.remove(setId, ruleId);
        return `已删除「${arg}」。`;
      } catch (err) {
        if (err instanceof AppError) return `没有找到「${arg}」，发送「列表」查看全部。`;
        throw err;
      }
    }
    if (/^(列表|list)$/i.test(text)) {
      const all = await rules.list(setId);
      if (!all.length) return '还没有自动回复。发送「添加 关键词 回复」新增一条。';
      const lines = all
        .slice(0, 50)
        .map(
          (r) =>
            `${positionKey(r.position)} ${r.name ? `「${r.name}」` : ''}${r.keywords.map((k) => k.text).join('/')} → ${replySummary(r.replies[0])}`,
        );
      if (all.length > 50) lines.push(`……共 ${all.length} 条，请在网页上查看全部。`);
      return `${set.enabled ? '自动回复：开启' : '自动回复：关闭'}\n${lines.join('\n')}`;
    }
    if (/^(开启|on)$/i.test(text)) {
      await rules.settings(setId, { enabled: true });
      return '自动回复已开启。';
    }
    if (/^(关闭|off)$/i.test(text)) {
      await rules.settings(setId, { enabled: false });
      return '自动回复已关闭。';
    }
    return HELP;
  }

  /** The answer to one message, with its side effects. */
  async function dispatch(appid: string, f: Record<string, string>): Promise<string[]> {
    const openid = f.FromUserName;
    if (!openid) return [];
    if (f.MsgType === 'event') {
      const ev = f.Event?.toLowerCase();
      const scene =
        ev === 'subscribe' && f.EventKey?.startsWith('qrscene_')
          ? f.EventKey.slice('qrscene_'.length)
          : ev === 'scan'
            ? f.EventKey
            : undefined;
      if (scene === REGISTER_SCENE && ev === 'scan') {
        if (await repo.bindingByOpenid(appid, openid)) return [`您的微信已绑定账号，请直接登录。\n${HELP}`];
        return [await codeText(appid, openid)];
      }
      if (scene && scene !== REGISTER_SCENE) return [await bindScene(appid, openid, scene)];
      if (ev === 'subscribe') {
        const bound = await repo.bindingByOpenid(appid, openid);
        if (bound) return [`欢迎回来！\n${HELP}`];
        return [`欢迎关注！\n${await codeText(appid, openid)}`];
      }
      return [];
    }
    if (f.MsgType !== 'text') return [];
    const text = (f.Content ?? '').trim();
    if (text === '验证码') return [await codeText(appid, openid)];
    const bound = await repo.bindingByOpenid(appid, openid);
    if (!bound) return ['您还没有绑定账号。发送「验证码」获取注册验证码，在网页上注册；已有账号请在网页上扫码绑定。'];
    if (/^(帮助|help|\?|？)$/i.test(text)) return [HELP];
    return [await command(Number(bound.user_id), text)];
  }

  return {
    configured: deps.account !== null,
    async verify(query: Record<string, string>): Promise<WebhookAnswer> {
      const acc = deps.account;
      if (!acc) return unconfigured;
      const echo = refusedOr(() => verifyEcho(acc, query, now()));
      return 'refused' in echo ? echo.refused : { status: 200, contentType: 'text/plain', body: echo.ok };
    },
    async receive(query: Record<string, string>, body: string): Promise<WebhookAnswer> {
      const acc = deps.account;
      if (!acc) return unconfigured;
      const opened = refusedOr(() => openMessage(acc, query, body, now()));
      if ('refused' in opened) return opened.refused;
      const msg = opened.ok;
      const f = msg.fields;
      const key = messageKey(f);
      let answer: StoredAnswer | undefined;
      if (await repo.claimMessage('p', key, null, now())) {
        try {
          answer = { t: Math.floor(now() / 1000), replies: textReplies(await dispatch(acc.appid, f)) };
        } catch (err) {
          await repo.unclaimMessage('p', key);
          throw err;
        }
        await repo.setAnswer('p', key, JSON.stringify(answer));
      } else {
        // A retry while (or after) the first delivery is processed: wait for its answer.
        for (let i = 0; i < 90 && !answer; i++) {
          const s = await repo.storedAnswer('p', key);
          if (s?.answer) answer = JSON.parse(s.answer) as StoredAnswer;
          else await new Promise((r) => setTimeout(r, 50));
        }
      }
      return answerBody(acc, f, answer ?? { t: 0, replies: [] }, msg.encrypted, now());
    },
    /** Hands out a fresh code for an openid (tests, operator CLI). */
    newCode: (openid: string) => newCode(acc().appid, openid),
  };

  function acc(): CallbackAccount {
    if (!deps.account) throw new Error('platform account not configured');
    return deps.account;
  }
}

export type PlatformService = ReturnType<typeof createPlatformService>;
