/**
 * The member pages' client for the seed-003 API (src/modules/accounts/README.md). Every answer
 * of that API is HTTP 200 with `{code: 200, ...}` or `{code: 101xx, error}`; a 101xx answer is
 * thrown as ApiError so views handle success and refusal apart. The session (username + token)
 * is kept in localStorage: the activation link opens a new tab, which should find it.
 */
import { HttpError, NetworkError, request } from '../shared/http';

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

export interface Address {
  id: number;
  receiver: string;
  address: string;
  tag: string;
  receiver_phone: string;
  receiver_mobile: string;
  postcode: string;
  is_default: 'True' | 'False';
}

export interface AddressInput {
  receiver: string;
  receiver_phone: string;
  address: string;
  postcode: string;
  tag: string;
}

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

type Envelope = { code: number; error?: string; [k: string]: unknown };

async function call<T extends Envelope>(method: string, path: string, body?: unknown, auth = false): Promise<T> {
  const headers: Record<string, string> = {};
  const s = current();
  if (auth && s) headers.authorization = s.token;
  const answer = await request<Envelope>(path, { method, body, headers, timeoutMs: 20_000 });
  if (!answer || typeof answer.code !== 'number') throw new HttpError(200, 'bad_answer', 'unexpected answer');
  if (answer.code !== 200) throw new ApiError(answer.code, String(answer.error ?? ''), answer);
  return answer as T;
}

const enc = encodeURIComponent;
const me = () => {
  const s = current();
  if (!s) throw new ApiError(10101, 'not logged in');
  return s.username;
};

export const api = {
  register: (b: { username: string; email: string; password1: string; password2: string }) =>
    call<{ code: 200; username: string; data: { token: string } }>('POST', '/v1/users', b),
  login: (login: string, password: string) =>
    call<{ code: 200; username: string; data: { token: string } }>(
      'POST',
      '/v1/tokens',
      login.includes('@') ? { email: login, password } : { username: login, password },
    ),
  logout: () => call('DELETE', '/v1/tokens', undefined, true),
  /** By the session token when there is one, else by email or username. */
  resendActivation: (target: { email?: string; username?: string } = {}) => call('POST', '/v1/users/activation/resend', target, true),
  /** `already_active`: the link's account was active before (log in), not an error. */
  activate: (code: string) => call<{ code: 200; data: string; already_active?: boolean }>('GET', `/v1/users/activation?code=${enc(code)}`),
  changePassword: (b: { oldpassword: string; password1: string; password2: string }) =>
    call('POST', `/v1/users/${enc(me())}/password`, b, true),
  sendCode: (email: string) => call('POST', '/v1/users/password/sms', { email }),
  verifyCode: (email: string, code: string) =>
    call<{ code: 200; email: string; ticket: string }>('POST', '/v1/users/password/verification/', { email, code }),
  resetPassword: (b: { email: string; password1: string; password2: string; ticket: string }) => call('POST', '/v1/users/password/new', b),
  addresses: async () =>
    (await call<{ code: 200; addresslist: Address[] }>('GET', `/v1/users/${enc(me())}/address`, undefined, true)).addresslist,
  addAddress: async (a: AddressInput) =>
    (await call<{ code: 200; addresslist: Address[] }>('POST', `/v1/users/${enc(me())}/address`, a, true)).addresslist,
  editAddress: async (id: number, a: AddressInput) =>
    (await call<{ code: 200; addresslist: Address[] }>('PUT', `/v1/users/${enc(me())}/address/${id}`, a, true)).addresslist,
  deleteAddress: async (id: number) =>
    (await call<{ code: 200; addresslist: Address[] }>('DELETE', `/v1/users/${enc(me())}/address/${id}`, undefined, true)).addresslist,
  setDefault: async (id: number) =>
    (await call<{ code: 200; addresslist: Address[] }>('POST', `/v1/users/address/${enc(me())}/default`, { id }, true)).addresslist,
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
