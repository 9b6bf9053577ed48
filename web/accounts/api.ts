/**
 * The member pages' client for the seed-003 API (src/modules/accounts/README.md). Every answer
 * of that API is HTTP 200 with `{code: 200, ...}` or `{code: 101xx, error}`; a 101xx answer is
 * thrown as ApiError so views handle success and refusal apart. The session (username + token)
 * is kept in localStorage: the activation link opens a new tab, which should find it.
 */
import { createApiClient, ok, within, type Json, type JsonBody } from '../shared/api-client';
import { HttpError, NetworkError } from '../shared/http';

export { HttpError, NetworkError };

const SESSION_KEY = 'vh.accounts.session';

/** A refusal in the seed's envelope: `code` is the appendix code, `error` the server's sentence. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get retryAfter(): number | undefined {
    const r = this.body.retry_after;
    return typeof r === 'number' ? r : undefined;
  }
}

export interface Session {
  username: string;
  token: string;
  /**
   * A registration's session while the account is not activated: it can only ask for the
   * activation mail again, so the pages treat the visitor as logged out (no member links).
   */
  pending?: boolean;
}

/** A session the member pages can use (not a pending registration). */
export const isMember = (s: Session | null): s is Session => Boolean(s && !s.pending);

/** An address as the server answers it (the address book's list). */
export type Address = Success<Json<'/v1/users/{username}/address', 'get'>>['addresslist'][number];

/** What the address form sends: every field the form has (the server's optional ones as ''). */
export type AddressInput = Required<
  Pick<JsonBody<'/v1/users/{username}/address', 'post'>, 'receiver' | 'receiver_phone' | 'address' | 'postcode' | 'tag'>
>;

export function getSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    return typeof s.username === 'string' && typeof s.token === 'string'
      ? { username: s.username, token: s.token, ...(s.pending ? { pending: true } : {}) }
      : null;
  } catch {
    return null;
  }
}

/** Listeners (the top bar) learn when the session changes. */
const listeners = new Set<(s: Session | null) => void>();
export function onSessionChange(fn: (s: Session | null) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function setSession(s: Session | null): void {
  try {
    if (s) localStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else localStorage.removeItem(SESSION_KEY);
  } catch {
    // Blocked storage: the session lives as long as the page.
  }
  memory = s;
  for (const fn of listeners) fn(s);
}
let memory: Session | null = null;
const current = () => getSession() ?? memory;

/** The seed's success answer of a call (`code: 200`), apart from its refusals (`code: 101xx`). */
type Success<R> = Extract<R, { code: 200 }>;

const client = createApiClient();

/**
 * Awaits a call of the seed's API: its success answer, or its refusal thrown as ApiError.
 * `auth` sends the session token (the seed's `authorization` header, without a scheme).
 */
async function call<R extends { code: number }>(answer: Promise<{ data?: R }>): Promise<Success<R>> {
  const body: unknown = await ok(answer);
  const a = body as { code?: unknown; error?: unknown } | undefined;
  if (!a || typeof a.code !== 'number') throw new HttpError(200, 'bad_answer', 'unexpected answer');
  if (a.code !== 200) throw new ApiError(a.code, String(a.error ?? ''), a as Record<string, unknown>);
  return body as Success<R>;
}

/** Per call: the 20 s timeout, and the session token for calls that need one. */
const opts = (auth = false) => {
  const s = current();
  return { fetch: within({ timeoutMs: 20_000 }), headers: auth && s ? { authorization: s.token } : {} };
};

const me = () => {
  const s = current();
  if (!s) throw new ApiError(10101, 'not logged in');
  return s.username;
};
const mine = () => ({ path: { username: me() } });

export const api = {
  register: (body: JsonBody<'/v1/users', 'post'>) => call(client.POST('/v1/users', { body, ...opts() })),
  login: (login: string, password: string) =>
    call(client.POST('/v1/tokens', { body: login.includes('@') ? { email: login, password } : { username: login, password }, ...opts() })),
  logout: () => call(client.DELETE('/v1/tokens', opts(true))),
  /** By the session token when there is one, else by email or username. */
  resendActivation: (target: JsonBody<'/v1/users/activation/resend', 'post'> = {}) =>
    call(client.POST('/v1/users/activation/resend', { body: target, ...opts(true) })),
  /** `already_active`: the link's account was active before (log in), not an error. */
  activate: (code: string) => call(client.GET('/v1/users/activation', { params: { query: { code } }, ...opts() })),
  changePassword: (body: JsonBody<'/v1/users/{username}/password', 'post'>) =>
    call(client.POST('/v1/users/{username}/password', { params: mine(), body, ...opts(true) })),
  sendCode: (email: string) => call(client.POST('/v1/users/password/sms', { body: { email }, ...opts() })),
  verifyCode: (email: string, code: string) => call(client.POST('/v1/users/password/verification/', { body: { email, code }, ...opts() })),
  resetPassword: (body: JsonBody<'/v1/users/password/new', 'post'>) => call(client.POST('/v1/users/password/new', { body, ...opts() })),
  addresses: async () => (await call(client.GET('/v1/users/{username}/address', { params: mine(), ...opts(true) }))).addresslist,
  addAddress: async (a: AddressInput) =>
    (await call(client.POST('/v1/users/{username}/address', { params: mine(), body: a, ...opts(true) }))).addresslist,
  editAddress: async (id: number, a: AddressInput) =>
    (
      await call(
        client.PUT('/v1/users/{username}/address/{id}', { params: { path: { username: me(), id: String(id) } }, body: a, ...opts(true) }),
      )
    ).addresslist,
  deleteAddress: async (id: number) =>
    (
      await call(
        client.DELETE('/v1/users/{username}/address/{id}', { params: { path: { username: me(), id: String(id) } }, ...opts(true) }),
      )
    ).addresslist,
  setDefault: async (id: number) =>
    (await call(client.POST('/v1/users/address/{username}/default', { params: mine(), body: { id }, ...opts(true) }))).addresslist,
};

/** Whether an error means "this browser's session is gone" (send to log in). */
export const isLoggedOut = (err: unknown) => err instanceof ApiError && (err.code === 10101 || err.code === 10134);
export const isNotActivated = (err: unknown) => err instanceof ApiError && err.code === 10104 && err.body.reason === 'not_activated';

type T = (k: string, v?: Record<string, unknown>) => string;

/** A wait in words: seconds up to 90, else whole minutes (rounded up). */
export function waitText(seconds: number, t: T): string {
  return seconds <= 90 ? t('units.s', { n: seconds }) : t('units.min', { n: Math.ceil(seconds / 60) });
}

/**
 * An error in the reader's language: a page-specific sentence for the code when the page has one
 * (`<scope>.codes.<code>`), else the general one (`codes.<code>`), else the server's own sentence.
 */
export function errorText(err: unknown, t: T, te: (k: string) => boolean, scope?: string): string {
  if (err instanceof NetworkError) return err.timedOut ? t('errors.timeout') : t('errors.network');
  if (err instanceof ApiError) {
    if (err.code === 10131) return t('errors.tooMany', { s: waitText(err.retryAfter ?? 60, t) });
    // A refused password says why (reason), with zxcvbn's own hint after the server's colon.
    if (err.code === 10108 && typeof err.body.reason === 'string' && te(`passwordReasons.${err.body.reason}`)) {
      return t(`passwordReasons.${err.body.reason}`, { hint: err.message.split(': ').slice(1).join(': ') });
    }
    for (const key of [scope && `${scope}.codes.${err.code}`, `codes.${err.code}`]) {
      if (key && te(key)) return t(key);
    }
    return err.message || t('errors.unknownCode', { code: err.code });
  }
  if (err instanceof HttpError)
    return err.status >= 500 ? t('errors.server', { status: err.status }) : t('errors.http', { status: err.status });
  // A lazily loaded page that could not be fetched (offline, or a new deploy replaced the files).
  if (err instanceof Error && /dynamically imported module|module script|Loading chunk/i.test(err.message)) return t('errors.chunk');
  return err instanceof Error ? err.message : String(err);
}
