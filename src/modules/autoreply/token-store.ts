/** The access-token store (platform/wechat/access-token.ts) on `ar_access_tokens`, tokens sealed at rest. */
import type { SecretBox } from '../../platform/crypto/secretbox.js';
import type { TokenStore } from '../../platform/wechat/access-token.js';
import type { WechatRepo } from './wechat-repo.js';

export function createTokenStore(repo: WechatRepo, secrets: SecretBox): TokenStore {
  return {
    async read(appid) {
      const r = await repo.readToken(appid);
      if (!r?.token_sealed) return undefined;
      return { token: secrets.open(r.token_sealed), expiresAt: Number(r.expires_at) };
    },
    async tryLease(appid, owner, until, now) {
      await repo.ensureTokenRow(appid);
      return repo.leaseToken(appid, owner, until, now);
    },
    async save(appid, owner, t) {
      await repo.saveToken(appid, owner, secrets.seal(t.token), t.expiresAt);
    },
    async release(appid, owner) {
      await repo.releaseToken(appid, owner);
    },
    async invalidate(appid, token) {
      await repo.clearToken(appid, (sealed) => {
        try {
          return secrets.open(sealed) === token;
        } catch {
          return false;
        }
      });
    },
  };
}
