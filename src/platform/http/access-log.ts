/**
 * The access log: one line per answered request (Fastify's own two lines, "incoming request" and
 * "request completed", are off: app.ts sets disableRequestLogging). The line is written at `info`
 * from `onResponse`, so LOG_LEVEL=warn turns it off, and costs one small object and one write
 * into pino's asynchronous destination (see logger.ts).
 *
 * Fields: reqId (the request's child logger binding), method, url (path and query, secret query
 * values replaced, see logUrl), status, ms (time to the last byte handed to the socket).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';

/** Query parameters whose values are secrets (link tokens, signatures, codes) and never logged. */
const SECRET_PARAM = /^(?:.*token.*|.*secret.*|.*signature.*|.*password.*|.*key|code|js_code|echostr|ticket|nonce)$/i;

/**
 * The URL as logged: the path as is, each secret query value replaced by `[redacted]`. A URL
 * without a query (most) is returned as it is, no allocation.
 */
export function logUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url.slice(q + 1).split('&');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf('=');
    let name = eq < 0 ? p : p.slice(0, eq);
    try {
      name = decodeURIComponent(name);
    } catch {
      // A malformed name is logged as it came; its value still goes if it looks secret.
    }
    if (eq >= 0 && SECRET_PARAM.test(name)) parts[i] = `${p.slice(0, eq)}=[redacted]`;
  }
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

export function registerAccessLog(app: FastifyInstance): void {
  app.addHook('onResponse', (req, reply, done) => {
    // The level check first: at warn and above the line is not even built.
    if ((req.log as Logger).isLevelEnabled('info')) {
      req.log.info({ method: req.method, url: logUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 100) / 100 }, 'request');
    }
    done();
  });
}
