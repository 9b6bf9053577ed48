/**
 * The official-account API calls the auto-reply module makes, each with an access_token from the
 * shared cache (retried once with a fresh token when WeChat says the token is invalid):
 * temporary parametric QR codes and customer-service text messages.
 */
import type QRCode from 'qrcode';
import { callWechat, WechatApiError, type WechatHttpOptions } from './http.js';
import { INVALID_TOKEN_ERRCODES, type AccessTokens } from './access-token.js';

export interface MpCredentials {
  appid: string;
  secret: string;
}

export interface MpApi {
  /** Temporary QR code with a scene string (QR_STR_SCENE); answers WeChat's ticket and the URL the code encodes. */
  createSceneQr(acc: MpCredentials, scene: string, expireSeconds: number): Promise<{ ticket: string; url: string; expireSeconds: number }>;
  /** Sends a text through the customer-service message API (within 48 h of the follower's last message). */
  sendText(acc: MpCredentials, openid: string, text: string): Promise<void>;
  /** Sends an image from the account's material library (its media_id), the same way. */
  sendImage(acc: MpCredentials, openid: string, mediaId: string): Promise<void>;
  /** Sends a link card (one article: WeChat shows no more), the same way. */
  sendNews(acc: MpCredentials, openid: string, article: { title: string; description: string; url: string; picUrl: string }): Promise<void>;
}

export function createMpApi(http: WechatHttpOptions, tokens: AccessTokens): MpApi {
  async function withToken<T>(acc: MpCredentials, call: (token: string) => Promise<T>): Promise<T> {
    const token = await tokens.get(acc.appid, acc.secret);
    try {
      return await call(token);
    } catch (err) {
      if (err instanceof WechatApiError && INVALID_TOKEN_ERRCODES.has(err.errcode)) {
        await tokens.invalidate(acc.appid, acc.secret, token);
        return call(await tokens.get(acc.appid, acc.secret));
      }
      throw err;
    }
  }
  /** One customer-service message (message/custom/send). */
  function send(acc: MpCredentials, body: Record<string, unknown>): Promise<void> {
    return withToken(acc, async (access_token) => {
      await callWechat(http, '/cgi-bin/message/custom/send', { query: { access_token }, body });
    });
  }

  return {
    createSceneQr(acc, scene, expireSeconds) {
      return withToken(acc, async (access_token) => {
        const r = await callWechat<{ ticket: string; url: string; expire_seconds?: number }>(http, '/cgi-bin/qrcode/create', {
          query: { access_token },
          body: { expire_seconds: expireSeconds, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: scene } } },
        });
        if (!r.ticket || !r.url) throw new WechatApiError(-1, 'no ticket/url in the answer', '/cgi-bin/qrcode/create');
        return { ticket: r.ticket, url: r.url, expireSeconds: r.expire_seconds ?? expireSeconds };
      });
    },
    sendText(acc, openid, text) {
      return send(acc, { touser: openid, msgtype: 'text', text: { content: text } });
    },
    sendImage(acc, openid, mediaId) {
      return send(acc, { touser: openid, msgtype: 'image', image: { media_id: mediaId } });
    },
    sendNews(acc, openid, a) {
      return send(acc, {
        touser: openid,
        msgtype: 'news',
        news: { articles: [{ title: a.title, description: a.description, url: a.url, picurl: a.picUrl }] },
      });
    },
  };
}

/** Renders the URL a QR ticket encodes as a PNG (so no second call to WeChat's showqrcode is needed). */
export async function renderQrPng(url: string): Promise<Buffer> {
  // Loaded on the first ticket, not at start (issue 15, idle memory).
  const { default: qrcode } = (await import('qrcode')) as unknown as { default: typeof QRCode };
  return qrcode.toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 430 });
}
