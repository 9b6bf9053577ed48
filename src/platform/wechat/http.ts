/**
 * Calls to WeChat's server API (base URL WECHAT_API_BASE): JSON in, JSON out, with a timeout so a
 * slow WeChat never hangs a request, and WeChat's `errcode` turned into a WechatApiError.
 * Secrets in the query (appid/secret, access_token) are never logged: errors carry only the path.
 */

export interface WechatHttpOptions {
  apiBase: string;
  timeoutMs: number;
}

/** WeChat answered with a non-zero errcode. */
export class WechatApiError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly path: string,
  ) {
    super(`WeChat ${path} answered errcode ${errcode}: ${errmsg}`);
    this.name = 'WechatApiError';
  }
}

/** WeChat could not be reached, answered too slowly, or answered something that is not JSON. */
export class WechatUnavailableError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'WechatUnavailableError';
  }
}

export interface WechatCall {
  query?: Record<string, string>;
  /** JSON body: the call becomes a POST. */
  body?: unknown;
  /** Answer is binary (e.g. an image): returned as a Buffer unless it is a JSON error. */
  binary?: boolean;
}

/** Calls `path` on WeChat's API; resolves to the parsed JSON (errcode 0 or absent). */
export async function callWechat<T = Record<string, unknown>>(opts: WechatHttpOptions, path: string, call: WechatCall = {}): Promise<T> {
  const url = new URL(opts.apiBase + path);
  for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, {
      method: call.body === undefined ? 'GET' : 'POST',
      headers: call.body === undefined ? undefined : { 'content-type': 'application/json' },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    throw new WechatUnavailableError(
      timedOut ? `WeChat did not answer ${path} within ${opts.timeoutMs} ms` : `WeChat ${path} could not be reached: ${e.message}`,
      path,
      timedOut,
    );
  }
  const buf = Buffer.from(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
  const type = res.headers.get('content-type') ?? '';
  if (call.binary && !type.includes('json') && !type.includes('text') && res.ok) return buf as unknown as T;
  if (!res.ok) throw new WechatUnavailableError(`WeChat ${path} answered HTTP ${res.status}`, path);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new WechatUnavailableError(`WeChat ${path} answered something that is not JSON`, path);
  }
  const errcode = typeof json.errcode === 'number' ? json.errcode : 0;
  const errmsg = typeof json.errmsg === 'string' || typeof json.errmsg === 'number' ? String(json.errmsg) : '';
  if (errcode !== 0) throw new WechatApiError(errcode, errmsg, path);
  return json as T;
}
