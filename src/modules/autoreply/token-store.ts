/**
 * The access-token store (platform/wechat/access-token.ts) on `ar_access_tokens`, tokens sealed at
 * rest. The table's `appid` column holds the credentials key (appid + hash of the secret), so a
 * token is only ever read back for the appid AND secret that obtained it.
 */
import type { SecretBox } from '../../platform/crypto/secretbox.js';
import type { TokenStore } from '../../platform/wechat/access-token.js';
import type { WechatRepo } from './wechat-repo.js';

export function createTokenStore(repo: WechatRepo, secrets: SecretBox): TokenStore {
  return {
    async read(key) {
      const r = await repo.readToken(key);
      if (!r?.token_sealed) return undefined;
      return { token: secrets.open(r.token_sealed), expiresAt: Number(r.expires_at) };
    },
    async tryLease(key, owner, until, now) {
      await repo.ensureTokenRow(key);
      return repo.leaseToken(key, owner, until, now);
    },
    async save(key, owner, t) {
      await repo.saveToken(key, owner, secrets.seal(t.token), t.expiresAt);
    },
    async release(key, owner) {
      await repo.releaseToken(key, owner);
    },
    async invalidate(key, token) {
      await repo.clearToken(key, (sealed) => {
        try {
          return secrets.open(sealed) === token;
        } catch {
          return false;
        }
      });
    },
  };
}
