/**
 * The pages' API client, typed by the server's OpenAPI document: `paths` is generated from it at
 * build time (scripts/openapi.ts -> web/generated/api-types.ts, never committed), so a page that
 * calls a path, sends a field or reads a field the server does not declare fails `npm run
 * typecheck`. openapi-fetch does the requests over the shared semantics of http.ts: a timeout on
 * every call, NetworkError when there is no answer, HttpError for a non-2xx answer; a call
 * resolves with the 2xx body.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { paths } from '../generated/api-types';
import { fetchChecked, HttpError, NetworkError } from './http';

export type { paths };

/** Per call: the timeout (default 20 s) and the caller's abort signal. */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** openapi-fetch's `fetch` for one call: http.ts's timeout and error sorting. */
export const within =
  ({ timeoutMs = 20_000, signal }: CallOptions = {}) =>
  (req: Request): Promise<Response> =>
    fetchChecked(req, {}, timeoutMs, signal);

/** A client for the service's API; `headers` is read before every request (a token that changes). */
export function createApiClient(headers?: () => Record<string, string>): Client<paths> {
  const client = createClient<paths>({ headers: { accept: 'application/json' }, fetch: within() });
  if (headers) {
    const auth: Middleware = {
      onRequest({ request }) {
        for (const [k, v] of Object.entries(headers())) request.headers.set(k, v);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

/** The body of a 2xx answer; `void` for an answer without one. */
type Body<D> = [Exclude<D, undefined>] extends [never] ? void : Exclude<D, undefined>;

/**
 * Awaits an openapi-fetch call and returns its 2xx body. Errors arrive as NetworkError/HttpError
 * from `within`; a body cut off mid-way (a parse error) is a NetworkError too, as in `request`.
 */
export async function ok<R extends { data?: unknown }>(call: Promise<R>): Promise<Body<R['data']>> {
  try {
    return (await call).data as Body<R['data']>;
  } catch (err) {
    if (err instanceof HttpError || err instanceof NetworkError) throw err;
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new NetworkError(String((err as Error)?.message ?? err));
  }
}

/** The JSON body of a path's 2xx answer: the page's name for a response the server declares. */
export type Json<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: infer R;
}
  ? {
      [S in keyof R]: S extends 200 | 201 ? (R[S] extends { content: { 'application/json': infer J } } ? J : never) : never;
    }[keyof R]
  : never;

/** The JSON body a path takes. */
export type JsonBody<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;
