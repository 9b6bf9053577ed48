/**
 * access_token for an official account: cached in memory, shared through a store (the database)
 * so several instances use one token, and refreshed before it expires by ONE caller at a time:
 * in-process single-flight, plus a lease in the store taken by compare-and-set so two instances
 * never both refresh (a second refresh would invalidate the first instance's token at WeChat).
 *
 * Every cache (memory, in-flight refreshes, the store) is keyed by the CREDENTIALS that obtained
 * the token (`credentialsKey`: appid + a hash of the secret), never by the appid alone: a tenant
 * who names someone else's appid with a made-up secret must never be handed that account's token
 * (issue 10 item 1). A wrong secret misses every cache and goes to WeChat, which refuses it.
 */
import { hash, randomBytes } from 'node:crypto';
import { callWechat, WechatApiError, type WechatHttpOptions } from './http.js';

export interface StoredToken {
  token: string;
  /** ms since epoch */
  expiresAt: number;
}

/**
 * The cache key of a token: the appid (cut to 32 characters, for people reading the table) and
 * 27 characters of SHA-256 over appid and secret, at most 60 characters. The secret itself is
 * WeChat's 128-bit AppSecret, so its hash gives nothing away; a wrong secret has its own key.
 */
export function credentialsKey(appid: string, secret: string): string {
  return `${appid.slice(0, 32)}:${hash('sha256', `${appid}\0${secret}`, 'base64url').slice(0, 27)}`;
}

/**
 * Where tokens are shared between instances (see the autoreply module's repository). `key` is
 * always a `credentialsKey`, never a bare appid.
 */
export interface TokenStore {
  read(key: string): Promise<StoredToken | undefined>;
  /** Takes the refresh lease if nobody holds a live one (compare-and-set); true when taken. */
  tryLease(key: string, owner: string, until: number, now: number): Promise<boolean>;
  /** Saves a fresh token and releases the lease held by `owner`. */
  save(key: string, owner: string, token: StoredToken): Promise<void>;
  /** Releases the lease without a token (the refresh failed). */
  release(key: string, owner: string): Promise<void>;
  /** Forgets a token WeChat said is invalid. */
  invalidate(key: string, token: string): Promise<void>;
}

export interface AccessTokenDeps {
  http: WechatHttpOptions;
  store: TokenStore;
  now?: () => number;
  /** Refresh this long before expiry. Default 5 minutes. */
  marginMs?: number;
  /** How long a refresh lease lasts. Default 15 s. */
  leaseMs?: number;
  /** How often a waiter looks for the other instance's token. Default 100 ms. */
  pollMs?: number;
}

export interface AccessTokens {
  /**
   * A valid token obtained with exactly this appid AND secret, refreshing it if needed. Resolving
   * proves the pair with WeChat (now, or when the cached token was obtained); a wrong secret
   * rejects with WeChat's WechatApiError (e.g. 40125 invalid appsecret).
   */
  get(appid: string, secret: string): Promise<string>;
  /** Drops a token WeChat rejected (errcode 40001/40014/42001) so the next get refreshes. */
  invalidate(appid: string, secret: string, token: string): Promise<void>;
}

/** errcodes meaning "this access_token is not valid (any more)". */
export const INVALID_TOKEN_ERRCODES = new Set([40001, 40014, 42001]);

export function createAccessTokens(deps: AccessTokenDeps): AccessTokens {
  const now = deps.now ?? Date.now;
  const margin = deps.marginMs ?? 5 * 60_000;
  const leaseMs = deps.leaseMs ?? 15_000;
  const pollMs = deps.pollMs ?? 100;
  const owner = randomBytes(8).toString('hex');
  const memory = new Map<string, StoredToken>();
  const inflight = new Map<string, Promise<string>>();

  const usable = (t: StoredToken | undefined): t is StoredToken => !!t && t.expiresAt - margin > now();

  async function refresh(key: string, appid: string, secret: string): Promise<string> {
    const deadline = now() + leaseMs + 5_000;
    for (;;) {
      const stored = await deps.store.read(key);
      if (usable(stored)) {
        memory.set(key, stored);
        return stored.token;
      }
      if (await deps.store.tryLease(key, owner, now() + leaseMs, now())) {
        // Another instance may have saved a fresh token (and released its lease) between our
        // read and our lease: look again before asking WeChat, or we would replace its token.
        const again = await deps.store.read(key).catch(() => undefined);
        if (usable(again)) {
          await deps.store.release(key, owner).catch(() => {});
          memory.set(key, again);
          return again.token;
        }
        try {
          const r = await callWechat<{ access_token: string; expires_in: number }>(deps.http, '/cgi-bin/token', {
            query: { grant_type: 'client_credential', appid, secret },
          });
          if (typeof r.access_token !== 'string' || !r.access_token)
            throw new WechatApiError(-1, 'no access_token in the answer', '/cgi-bin/token');
          const t = { token: r.access_token, expiresAt: now() + Math.max(60, Number(r.expires_in) || 7200) * 1000 };
          await deps.store.save(key, owner, t);
          memory.set(key, t);
          return t.token;
        } catch (err) {
          await deps.store.release(key, owner).catch(() => {});
          throw err;
        }
      }
      // Another instance is refreshing: wait for its token (or for its lease to lapse).
      if (now() > deadline) throw new Error(`timed out waiting for another instance to refresh the access_token of ${appid}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  return {
    async get(appid, secret) {
      const key = credentialsKey(appid, secret);
      const m = memory.get(key);
      if (usable(m)) return m.token;
      let p = inflight.get(key);
      if (!p) {
        p = refresh(key, appid, secret).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      return p;
    },
    async invalidate(appid, secret, token) {
      const key = credentialsKey(appid, secret);
      if (memory.get(key)?.token === token) memory.delete(key);
      await deps.store.invalidate(key, token);
    },
  };
}
