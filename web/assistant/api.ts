/**
 * The assistant's client: the seed's routes (/account/*, answered HTTP 200 with `{code: 200 | <0}`)
 * and the REST API under /api/v2/autoreply. The session is the HttpOnly `ar_session` cookie, so
 * the page never sees it: whether someone is signed in is what GET /me answers. A 401 (or the
 * seed's "sign in first") sends the page back to the login screen.
 */
import { createApiClient, ok, within, type Json, type JsonBody } from '../shared/api-client';
import { HttpError, NetworkError } from '../shared/http';

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

export type Rule = Json<'/api/v2/autoreply/rules/{id}', 'get'>;
/**
 * A rule as the page edits and sends it: the shape the server answers, which the server's body for
 * creating and replacing a rule accepts (it also takes shorter forms the page never sends).
 */
export type RuleInput = Pick<Rule, 'keywords' | 'replies' | 'mode'> & { name?: Rule['name'] };
export type Keyword = Rule['keywords'][number];
export type Match = Keyword['match'];
export type Mode = Rule['mode'];
/** Text (a string), an image from the account's material library, or a link card (one article). */
export type ReplyItem = Rule['replies'][number];
export type ImageReply = Extract<ReplyItem, { type: 'image' }>;
export type NewsReply = Extract<ReplyItem, { type: 'news' }>;
export type Settings = Json<'/api/v2/autoreply/settings', 'get'>;
export type Me = Json<'/api/v2/autoreply/me', 'get'>;
export type Account = Json<'/api/v2/autoreply/accounts/{id}', 'get'>;
export type SimulateResult = Json<'/api/v2/autoreply/accounts/{id}/simulate', 'post'>;
/** The platform account: whether it is set up, its QR image, its name and WeChat ID (微信号). */
export type Platform = Json<'/api/v2/autoreply/platform', 'get'>;
export type ExportFile = Json<'/api/v2/autoreply/export', 'get'>;

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** The REST API's calls: a 401 sends the page back to the login screen. */
const v2 = createApiClient();
v2.use({
  onError({ error }) {
    if (error instanceof HttpError && error.status === 401) onUnauthorized();
  },
});
/** The seed's routes: HTTP 200, a refusal is a `code` other than 200. */
const seedClient = createApiClient();

async function seed<R extends { code: number; message: string }>(answer: Promise<{ data?: R }>): Promise<Extract<R, { code: 200 }>> {
  const r = (await ok(answer)) as R;
  if (r.code !== 200) throw new SeedError(r.code, r.message);
  return r as Extract<R, { code: 200 }>;
}

/** `?account=` scopes a call to one of the member's official accounts (none: the member's own rules). */
const scoped = (account: number | null) => (account ? { account } : {});

export const api = {
  platform: () => ok(v2.GET('/api/v2/autoreply/platform')),
  register: (username: string, password: string, code: string) =>
    seed(seedClient.POST('/account/register', { body: { username, password, last_name: code } })),
  login: (username: string, password: string) => seed(seedClient.POST('/account/login', { body: { username, password } })),
  // Signed out already (an expired session): the seed answers -1, and the page is signed out either way.
  logout: () =>
    seed(seedClient.GET('/account/logout')).then(
      () => undefined,
      (err: unknown) => {
        if (!(err instanceof SeedError && err.seedCode === -1)) throw err;
      },
    ),
  me: () => ok(v2.GET('/api/v2/autoreply/me')),

  rules: (account: number | null, q: string, offset: number, limit = 100) =>
    ok(v2.GET('/api/v2/autoreply/rules', { params: { query: { ...scoped(account), ...(q ? { q } : {}), offset, limit } } })),
  createRule: (account: number | null, rule: RuleInput) =>
    ok(v2.POST('/api/v2/autoreply/rules', { params: { query: scoped(account) }, body: rule })),
  updateRule: (account: number | null, id: number, rule: RuleInput) =>
    ok(v2.PUT('/api/v2/autoreply/rules/{id}', { params: { path: { id }, query: scoped(account) }, body: rule })),
  deleteRule: (account: number | null, id: number) =>
    ok(v2.DELETE('/api/v2/autoreply/rules/{id}', { params: { path: { id }, query: scoped(account) } })),
  settings: (account: number | null) => ok(v2.GET('/api/v2/autoreply/settings', { params: { query: scoped(account) } })),
  saveSettings: (account: number | null, patch: JsonBody<'/api/v2/autoreply/settings', 'put'>) =>
    ok(v2.PUT('/api/v2/autoreply/settings', { params: { query: scoped(account) }, body: patch })),
  exportRules: (account: number | null) => ok(v2.GET('/api/v2/autoreply/export', { params: { query: scoped(account) } })),
  importRules: (account: number | null, body: JsonBody<'/api/v2/autoreply/import', 'post'>) =>
    ok(v2.POST('/api/v2/autoreply/import', { params: { query: scoped(account) }, body, fetch: within({ timeoutMs: 60_000 }) })),

  accounts: () => ok(v2.GET('/api/v2/autoreply/accounts')),
  account: (id: number) => ok(v2.GET('/api/v2/autoreply/accounts/{id}', { params: { path: { id } } })),
  connect: (body: JsonBody<'/api/v2/autoreply/accounts', 'post'>) => ok(v2.POST('/api/v2/autoreply/accounts', { body })),
  disconnect: (id: number) => ok(v2.DELETE('/api/v2/autoreply/accounts/{id}', { params: { path: { id } } })),
  simulate: (id: number, body: JsonBody<'/api/v2/autoreply/accounts/{id}/simulate', 'post'>) =>
    ok(v2.POST('/api/v2/autoreply/accounts/{id}/simulate', { params: { path: { id } }, body })),
  bindQr: () => ok(v2.POST('/api/v2/autoreply/bind-qr')),
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
