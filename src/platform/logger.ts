/**
 * Structured logs (pino). Secrets are redacted by path wherever they might appear, and from
 * logged request URLs (redactUrl). In a terminal
 * (stdout is a TTY) the lines are pretty-printed by pino-pretty for a person to read; anywhere
 * else (a pipe, a file, a container's log driver) they stay JSON lines for machines. LOG_FORMAT
 * overrides the guess.
 */
import { pino, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';
import { LogDestination } from './log-destination.js';

export type { Logger };

export type LogFormat = 'auto' | 'pretty' | 'json';

const REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers.token',
    '*.password',
    '*.secret',
    '*.session_key',
    '*.token',
    '*.password1',
    '*.password2',
  ],
  censor: '[redacted]',
};

/**
 * Query parameters that carry a secret in some route (certificates' link `token` in the seed,
 * claim and download URLs and the claim page; accounts' activation `code` and recovery `ticket`;
 * the mini-program's `token`, `js_code`, `session_key`; WeChat-style `access_token`, `secret`).
 */
const SECRET_PARAMS = [
  'token',
  'access_token',
  'refresh_token',
  'code',
  'js_code',
  'ticket',
  'session_key',
  'secret',
  'appsecret',
  'password',
];
const SECRET_QUERY = new RegExp(`([?&](?:${SECRET_PARAMS.join('|')})=)[^&#]*`, 'gi');
/** Path segments that are secrets: the assistant's bind QR image (whoever scans it binds their WeChat). */
const SECRET_PATHS = /^(\/static\/qrimages\/)[^?#]+/;

/** A URL as it may be logged: secret query values and secret path segments replaced by [redacted]. */
export function redactUrl(url: string): string {
  return redactUrlPath(url.includes('=') ? url.replace(SECRET_QUERY, '$1[redacted]') : url);
}

/**
 * redactUrl's secret path segments alone (the access log replaces query values itself and calls
 * this when the query step could change nothing, see access-log.ts logUrl). The path's text up
 * to the first `?` or `#` is all it reads or changes.
 */
export function redactUrlPath(url: string): string {
  let out = url;
  if (out.startsWith('/static/')) out = out.replace(SECRET_PATHS, '$1[redacted]');
  // One-click unsubscribe links carry their token in the path (RFC 8058 URLs are opaque).
  if (out.startsWith('/unsubscribe/')) out = out.replace(/^(\/unsubscribe\/)[^?#]+/, '$1[redacted]');
  return out;
}

interface RequestLike {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remoteAddress?: string; remotePort?: number };
}

/** Fastify's request serializer with the URL redacted (pino's own serializers win over Fastify's). */
const serializers = {
  req(req: RequestLike) {
    return {
      method: req.method,
      url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
      host: req.host ?? req.headers?.host,
      remoteAddress: req.ip ?? req.socket?.remoteAddress,
      remotePort: req.socket?.remotePort,
    };
  },
};

/** Whether `format` means pretty lines on this stdout. */
export function wantsPretty(format: LogFormat = 'auto', isTTY: boolean = Boolean(process.stdout.isTTY)): boolean {
  return format === 'pretty' || (format === 'auto' && isTTY);
}

/** `destination`: where JSON lines go instead of stdout (tests). */
export function createLogger(level: string, format: LogFormat = 'auto', destination?: NodeJS.WritableStream): Logger {
  if (destination) return pino({ level, redact: REDACT, serializers }, destination);
  // JSON lines go through an asynchronous destination: a write() per event-loop turn's lines, not
  // one blocking write per line on the request path (the access log writes one per request);
  // what is waiting is written when the process exits (log-destination.ts).
  if (!wantsPretty(format)) {
    const destination = new LogDestination();
    const logger = pino({ level, redact: REDACT, serializers }, destination);
    destination.onDropped = (droppedLines) =>
      logger.warn({ droppedLines }, 'log lines dropped: the log destination was slower than the lines written');
    return logger;
  }
  // In-process and synchronous: a terminal's volume is small, and nothing is lost at exit.
  // Loaded only for a terminal: a service writing JSON lines does not hold it in memory.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  const stream = pretty({ colorize: Boolean(process.stdout.isTTY), sync: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
  return pino({ level, redact: REDACT, serializers }, stream);
}
