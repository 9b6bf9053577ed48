/**
 * The assistant's client: the seed's routes (/account/*, answered HTTP 200 with `{code: 200 | <0}`)
 * and the REST API under /api/v2/autoreply. The session is the HttpOnly `ar_session` cookie, so
 * the page never sees it: whether someone is signed in is what GET /me answers. A 401 (or the
 * seed's "sign in first") sends the page back to the login screen.
 */
import { HttpError, NetworkError, request, type RequestOptions } from '../shared/http';

export { HttpError, NetworkError };

export const BASE = '/api/v2/autoreply';

/** A refusal in the seed's envelope: HTTP 200 with a negative `code`. */
export class SeedError extends Error {
  constructor(
    readonly seedCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'SeedError';
  }
}

export type Match = 'equal' | 'contains';
export type Mode = 'all' | 'random';
export interface Keyword {
  text: string;
  match: Match;
}
/** Text (a string), an image from the account's material library, or a link card (one article). */
export type ImageReply = { type: 'image'; mediaId: string };
export type NewsReply = { type: 'news'; title: string; description: string; url: string; picUrl: string };
export type ReplyItem = string | ImageReply | NewsReply;
export interface RuleInput {
  name?: string | null;
  keywords: Keyword[];
  replies: ReplyItem[];
  mode: Mode;
}
export interface Rule extends RuleInput {
  id: number;
  key: string;
  name: string | null;
  createdAt: number;
  updatedAt: number;
}
export interface Settings {
  enabled: boolean;
  followReply: string | null;
  defaultReply: string | null;
}
export interface Me {
  id: number;
  username: string;
  enabled: boolean;
  wechatBound: boolean;
  wechatConfigured: boolean;
}
export interface Account {
  id: number;
  appid: string;
  name: string | null;
  callbackUrl: string;
  safeMode: boolean;
  verifiedAt: number | null;
  createdAt: number;
}
export interface SimulateResult {
  status: number;
  encrypted: boolean;
  request: string;
  raw: string;
  reply: string | null;
  msgType: string | null;
  elapsedMs: number;
}
export interface Platform {
  configured: boolean;
  qrImageUrl: string | null;
  /** The platform account's name and WeChat ID (微信号), when the operator set them. */
  name: string | null;
  wechatId: string | null;
}
export interface ExportFile {
  version: 1;
  settings: Settings;
  rules: RuleInput[];
}

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

async function v2<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  try {
    return await request<T>(`${BASE}${path}`, opts);
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) onUnauthorized();
    throw err;
  }
}

async function seed<T extends { code: number; message: string }>(path: string, opts: RequestOptions = {}): Promise<T> {
  const r = await request<T>(path, opts);
  if (r.code !== 200) throw new SeedError(r.code, r.message);
  return r;
}

const scoped = (account: number | null, extra: Record<string, string | number> = {}) => {
  const q = new URLSearchParams();
  if (account) q.set('account', String(account));
  for (const [k, v] of Object.entries(extra)) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export const api = {
  platform: () => v2<Platform>('/platform'),
  register: (username: string, password: string, code: string) =>
    seed<{ code: number; message: string; id: number }>('/account/register', { body: { username, password, last_name: code } }),
  login: (username: string, password: string) =>
    seed<{ code: number; message: string; id: number }>('/account/login', { body: { username, password } }),
  // Signed out already (an expired session): the seed answers -1, and the page is signed out either way.
  logout: () =>
    seed('/account/logout').catch((err: unknown) => {
      if (!(err instanceof SeedError && err.seedCode === -1)) throw err;
    }),
  me: () => v2<Me>('/me'),

  rules: (account: number | null, q: string, offset: number, limit = 100) =>
    v2<{ total: number; rules: Rule[] }>(`/rules${scoped(account, { ...(q ? { q } : {}), offset, limit })}`),
  createRule: (account: number | null, rule: RuleInput) => v2<Rule>(`/rules${scoped(account)}`, { method: 'POST', body: rule }),
  updateRule: (account: number | null, id: number, rule: RuleInput) =>
    v2<Rule>(`/rules/${id}${scoped(account)}`, { method: 'PUT', body: rule }),
  deleteRule: (account: number | null, id: number) => v2<void>(`/rules/${id}${scoped(account)}`, { method: 'DELETE' }),
  settings: (account: number | null) => v2<Settings>(`/settings${scoped(account)}`),
  saveSettings: (account: number | null, patch: Partial<Settings>) =>
    v2<Settings>(`/settings${scoped(account)}`, { method: 'PUT', body: patch }),
  exportRules: (account: number | null) => v2<ExportFile>(`/export${scoped(account)}`),
  importRules: (account: number | null, body: { replace: boolean; rules: RuleInput[]; settings?: Partial<Settings> }) =>
    v2<{ imported: number }>(`/import${scoped(account)}`, { method: 'POST', body, timeoutMs: 60_000 }),

  accounts: () => v2<{ accounts: Account[] }>('/accounts'),
  account: (id: number) => v2<Account>(`/accounts/${id}`),
  connect: (body: { appid: string; secret: string; token: string; aes_key: string | null; name: string | null }) =>
    v2<Account & { callback_url: string }>('/accounts', { method: 'POST', body }),
  disconnect: (id: number) => v2<void>(`/accounts/${id}`, { method: 'DELETE' }),
  simulate: (id: number, body: { text?: string; event?: 'subscribe' }) =>
    v2<SimulateResult>(`/accounts/${id}/simulate`, { method: 'POST', body }),
  bindQr: () => v2<{ pid: string; imageUrl: string; expiresAt: number }>('/bind-qr', { method: 'POST', body: {} }),
};

type T = (key: string, values?: Record<string, unknown>) => string;

/** Words for the server's refusal codes (the REST API's strings and the seed's numbers). */
const CODES: Record<string, string> = {
  not_signed_in: 'errors.signedOut',
  bad_code: 'errors.badCode',
  cross_site: 'errors.crossSite',
  username_taken: 'errors.usernameTaken',
  rule_not_found: 'errors.ruleNotFound',
  account_not_found: 'errors.accountNotFound',
  account_exists: 'errors.accountExists',
  qr_in_progress: 'errors.qrInProgress',
  bad_login: 'errors.badLogin',
  wechat_not_configured: 'errors.wechatNotConfigured',
  rate_limited: 'errors.rateLimited',
};
const SEED: Record<number, string> = { [-1]: 'errors.badCode', [-2]: 'errors.usernameTaken', [-3]: 'errors.badLogin' };

/** An error in words for the person using the page; the server's own message where it is the best we have. */
export function errorText(err: unknown, t: T): string {
  if (err instanceof NetworkError) return err.timedOut ? t('errors.timeout') : t('errors.network');
  if (err instanceof SeedError) {
    // The accounts module's sign-in says when an account is not activated yet (also -3).
    if (/not activated/i.test(err.message)) return t('errors.notActivated');
    const key = SEED[err.seedCode];
    // -1 also means "not following"; -4 says which parameter: the server's words are the precise ones.
    if (key && !(err.seedCode === -1 && !/code/i.test(err.message))) return t(key);
    if (/too many/i.test(err.message)) return t('errors.rateLimited');
    if (/too easy to guess/i.test(err.message)) return t('errors.weakPassword', { hint: err.message.split(': ').slice(1).join(': ') });
    return t('errors.refused', { message: err.message });
  }
  if (err instanceof HttpError) {
    if (err.code === 'duplicate_keyword') {
      const kw = /"(.*)"/.exec(err.message)?.[1] ?? '';
      return t('errors.duplicateKeyword', { keyword: kw });
    }
    if (err.code === 'wechat_failed') return t('errors.wechatFailed', { message: err.message });
    // Connecting an account: WeChat did not accept the appid and secret (its errcode is in the message).
    if (err.code === 'wechat_refused') return t('errors.wechatRefused', { message: err.message });
    if (err.status === 429) return t('errors.rateLimited');
    const key = CODES[err.code];
    if (key) return t(key);
    if (err.status >= 500) return t('errors.server', { status: err.status, message: err.message });
    return t('errors.refused', { message: err.message });
  }
  if (err instanceof Error && err.message) return err.message;
  return t('errors.unknown');
}
