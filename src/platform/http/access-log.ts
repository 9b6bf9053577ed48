/**
 * The access log: one line per answered request instead of Fastify's two ("incoming request" and
 * "request completed"), through Fastify's LogController (app.ts). The line is written at `info`,
 * so LOG_LEVEL=warn turns it off, and costs one small object and one write into pino's
 * asynchronous destination (see logger.ts).
 *
 * Fields: reqId (the request's child logger binding), method, url (path and query, secret query
 * values replaced, see logUrl), status, ms (time to the last byte handed to the socket).
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import { pino } from 'pino';
import { redactUrl, type Logger } from '../logger.js';

/** Query parameters whose values are secrets (link tokens, signatures, codes) and never logged. */
const SECRET_PARAM = /^(?:.*token.*|.*secret.*|.*signature.*|.*password.*|.*key|code|js_code|echostr|ticket|nonce)$/i;

/**
 * The URL as logged: what logger.ts's redactUrl replaces (secret path segments, the secret
 * parameters of every route), and besides the value of any parameter whose name says it is a
 * secret (WeChat's signatures, nonce and echostr too). A URL without a query is only checked for
 * secret path segments.
 */
export function logUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return redactUrl(url);
  const parts = url.slice(q + 1).split('&');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const eq = p.indexOf('=');
    let name = eq < 0 ? p : p.slice(0, eq);
    try {
      name = decodeURIComponent(name);
    } catch {
      // A malformed name is logged as it came; its value still goes if it looks secret.
    }
    if (eq >= 0 && SECRET_PARAM.test(name)) parts[i] = `${p.slice(0, eq)}=[redacted]`;
  }
  return redactUrl(`${url.slice(0, q)}?${parts.join('&')}`);
}

/**
 * Fastify's request log lines, as one: nothing when a request comes in, one line when its answer
 * is sent (error level with the error when the socket failed). The other lines Fastify writes
 * (default error handler, route not found, ...) stay as they are.
 */
export class AccessLog extends LogController {
  /**
   * The access lines' own logger, on the same destination as `root`: it has no path redaction to
   * run (a third of the line's cost), as its fields are fixed and the URL is redacted by logUrl.
   */
  private readonly out: Logger;

  constructor(root: Logger) {
    super();
    const stream = (root as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
    this.out = pino({ level: root.level }, stream);
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      // Through the request's own logger: the error object gets the redaction every log line has.
      req.log.error(
        { method: req.method, url: logUrl(req.url), status: reply.statusCode, ms: round(reply.elapsedTime), err: error },
        'request errored',
      );
    } else if (this.out.isLevelEnabled('info')) {
      // The level check first: at warn and above the line is not even built.
      this.out.info(
        { reqId: req.id, method: req.method, url: logUrl(req.url), status: reply.statusCode, ms: round(reply.elapsedTime) },
        'request',
      );
    }
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** A level's number (pino's default levels); `silent` and unknown names are above every line. */
const levelValue = (level: string): number => pino.levels.values[level] ?? Infinity;

/**
 * The request's logger (`req.log`), as Fastify's `childLoggerFactory` (app.ts): the parent's child
 * with the request's bindings (its reqId) and the route's level, made when the request first
 * writes a line at an enabled level. Most requests write none (the access line goes through
 * AccessLog with `req.id`), and a pino child per request cost a few percent of a hot path's CPU
 * (its bindings serialized and run through the redaction). What is written is exactly what the
 * child would write: the same child, made later.
 */
export function requestLogger(parent: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(parent, bindings, opts);
}

class RequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  #real(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings, this.opts));
  }

  #write(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', args: unknown[]): void {
    if (levelValue(level) < levelValue(this.level)) return;
    const real = this.#real();
    real[level](...(args as [unknown]));
  }

  get level(): string {
    return this.#child?.level ?? this.opts.level ?? this.parent.level;
  }

  set level(level: string) {
    this.#real().level = level;
  }

  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }
}
