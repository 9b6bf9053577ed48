/**
 * A small fetch wrapper shared by every page: a timeout on every request, and errors sorted into
 * the three kinds a page reacts to differently:
 * - NetworkError: no answer (offline, aborted, timed out): offer "retry" and keep what was typed;
 * - HttpError: the server answered with a non-2xx status; `code` and `message` from the v2 body
 *   `{code, message}` (plus any other fields, e.g. `reason`, `chars`);
 * - never a raw TypeError or an unparsed body.
 */

export class NetworkError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RequestOptions {
  method?: string;
  /** A plain object is sent as JSON; FormData, Blob and strings as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Milliseconds before giving up (default 20 s). */
  timeoutMs?: number;
  /** How to read a 2xx answer (default: json). */
  as?: 'json' | 'blob' | 'text' | 'response';
  signal?: AbortSignal;
}

/**
 * One fetch with a timeout, sorted as the pages need: no answer throws NetworkError (the caller's
 * own abort is rethrown as it is), a non-2xx answer throws HttpError with the v2 body's code and
 * message. Resolves with the 2xx Response. Also the `fetch` of the generated clients (api-client.ts).
 */
export async function fetchChecked(
  input: Request | string,
  init: RequestInit = {},
  timeoutMs = 20_000,
  signal?: AbortSignal | null,
): Promise<Response> {
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, timeoutMs);
  const onAbort = () => ctrl.abort();
  if (signal?.aborted) ctrl.abort();
  signal?.addEventListener('abort', onAbort);
  let res: Response;
  try {
    res = await fetch(input, { ...init, signal: ctrl.signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new NetworkError(timedOut ? 'timeout' : String((err as Error)?.message ?? err), timedOut);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (!res.ok) {
    let parsed: Record<string, unknown> = {};
    try {
      const text = await res.text();
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // A proxy's HTML error page or an empty body: keep the status only.
    }
    const code = typeof parsed.code === 'string' ? parsed.code : `http_${res.status}`;
    const message = typeof parsed.message === 'string' ? parsed.message : res.statusText || `HTTP ${res.status}`;
    throw new HttpError(res.status, code, message, parsed);
  }
  return res;
}

/** Performs a request; resolves with the parsed answer or throws NetworkError / HttpError. */
export async function request<T = unknown>(url: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string' || opts.body instanceof Blob || opts.body instanceof FormData) {
      body = opts.body as BodyInit;
    } else {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
  }
  const res = await fetchChecked(url, { method: opts.method ?? (body ? 'POST' : 'GET'), headers, body }, opts.timeoutMs, opts.signal);
  try {
    switch (opts.as ?? 'json') {
      case 'blob':
        return (await res.blob()) as T;
      case 'text':
        return (await res.text()) as T;
      case 'response':
        return res as T;
      default:
        return (res.status === 204 ? undefined : await res.json()) as T;
    }
  } catch (err) {
    // The body was cut off mid-way.
    throw new NetworkError(String((err as Error)?.message ?? err));
  }
}

/** Whether an error is worth a "retry" button (no answer, or the server failed rather than refused). */
export function isRetryable(err: unknown): boolean {
  return err instanceof NetworkError || (err instanceof HttpError && (err.status >= 500 || err.status === 429 || err.status === 408));
}

/** Picks zh or en from the browser's languages (a saved choice wins). */
export function detectLang(storageKey: string): 'zh' | 'en' {
  try {
    const saved = localStorage.getItem(storageKey);
    if (saved === 'zh' || saved === 'en') return saved;
  } catch {
    // Storage may be blocked (private mode, in-app browsers).
  }
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const l of langs) {
    const lower = (l || '').toLowerCase();
    if (lower.startsWith('zh')) return 'zh';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

/** Remembers a language choice; ignores storage that is blocked. */
export function saveLang(storageKey: string, lang: string): void {
  try {
    localStorage.setItem(storageKey, lang);
  } catch {
    // ignore
  }
}
