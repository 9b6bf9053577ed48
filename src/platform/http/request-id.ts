/**
 * Request ids (Fastify's genReqId, app.ts; an incoming X-Request-Id is kept instead): what ties a
 * request's access line, its own log lines and an internal error's answer together. A random
 * prefix per process (72 bits, 12 URL-safe characters) and a counter: unique within the process
 * and, with overwhelming probability, across every instance of a fleet and every restart, as a
 * UUID per request was. A UUID per request (`crypto.randomUUID`) was ~0.3 us and a string of 36
 * characters made by ~20 concatenations, flattened again when the access line is written
 * (issue 15, bench/README.md "Hot paths, a ninth pass (hot9b)"); the counter also orders a
 * process's requests.
 */
import { randomBytes } from 'node:crypto';

/** A generator of request ids: `<12 random characters>-<counter in base 36>`. */
export function requestIds(): () => string {
  const prefix = `${randomBytes(9).toString('base64url')}-`;
  let n = 0;
  return () => prefix + (++n).toString(36);
}
