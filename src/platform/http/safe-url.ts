/**
 * Malformed percent-encoding in a request's path (`/v1/users/%ZZ`, `%C3%28`) makes Fastify's
 * router answer its own 400 before any module sees the request, so the client would get an answer
 * outside the API's envelope. Passed as Fastify's `rewriteUrl`, this escapes every `%` of such a
 * path (`%ZZ` -> `%25ZZ`): the request reaches its route with the text taken literally, and the
 * module refuses it in its own terms, as it would any other wrong value. Well-formed paths, and
 * every query string, are left exactly as they came.
 */
export function escapeMalformedPath(url: string): string {
  // Most URLs have no `%` in their path: answered without taking the path out (a string per request).
  const pct = url.indexOf('%');
  if (pct < 0) return url;
  const q = url.indexOf('?');
  if (q >= 0 && pct > q) return url;
  const path = q < 0 ? url : url.slice(0, q);
  try {
    decodeURIComponent(path);
    return url;
  } catch {
    return path.replaceAll('%', '%25') + (q < 0 ? '' : url.slice(q));
  }
}
