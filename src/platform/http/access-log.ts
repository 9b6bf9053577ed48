/**
 * The access log: one line per answered request instead of Fastify's two ("incoming request" and
 * "request completed"), through Fastify's LogController (app.ts). The line is written at `info`,
 * so LOG_LEVEL=warn turns it off, and costs one string and one write into the logger's
 * destination, which hands a turn's lines to the file at once (log-destination.ts).
 *
 * Fields: reqId (the request's child logger binding), method, url (path and query, secret query
 * values replaced, see logUrl), status, ms (time to the last byte handed to the socket).
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';
import { pino } from 'pino';
import { redactUrl, redactUrlPath, type Logger } from '../logger.js';
import { needsJsonEscape } from '../text/json.js';

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
  // redactUrl's query step replaces the values of `[?&]<secret name>=`. Each name it knows is one
  // SECRET_PARAM matches, so where every `?` and `&` is one of the boundaries split on below (no
  // `&` before the first `?`, no second `?`) it would find only values replaced already: then
  // only its path step is left (the regular expression was ~2% of a hot path's CPU). That step
  // reads and changes the text before the first `?` only, so it is run on the path alone, or on
  // a prefix of the request's URL that holds it: run on the joined URL (a string of two parts,
  // V8's cons string) its first read copied the URL into one piece, ~0.5k instructions per
  // request (callgrind, bench/README.md "Hot paths, a ninth pass").
  const amp = url.indexOf('&');
  if ((amp < 0 || amp > q) && url.indexOf('?', q + 1) < 0) {
    // A query of one parameter (getUserInfo's `?token=`): the URL up to its `=` and the
    // replacement, without taking the query apart and joining it again (one `indexOf` for the
    // `&` of both tests, rather than `includes` on the query and `lastIndexOf` on the URL, which
    // V8 runs in C++: ~0.6k fewer instructions per request, bench/README.md "an eleventh pass").
    if (amp < 0) {
      const eq = url.indexOf('=', q + 1);
      if (eq < 0 || !isSecretName(paramName(url.slice(q + 1, eq)))) return redactUrlPath(url);
      return `${redactUrlPath(url.slice(0, eq))}=[redacted]`;
    }
    return `${redactUrlPath(url.slice(0, q))}?${url
      .slice(q + 1)
      .split('&')
      .map(redactParam)
      .join('&')}`;
  }
  const query = url.slice(q + 1);
  const redacted = query.includes('&') ? query.split('&').map(redactParam).join('&') : redactParam(query);
  return redactUrl(`${url.slice(0, q)}?${redacted}`);
}

/** A query parameter's name as compared with SECRET_PARAM: percent-decoded (as it came when malformed). */
function paramName(name: string): string {
  if (!name.includes('%')) return name;
  try {
    return decodeURIComponent(name);
  } catch {
    // A malformed name is logged as it came; its value still goes if it looks secret.
    return name;
  }
}

/** One `name=value` of a query as logged: the value replaced when the name says it is a secret. */
function redactParam(p: string): string {
  const eq = p.indexOf('=');
  if (eq < 0) return p;
  return isSecretName(paramName(p.slice(0, eq))) ? `${p.slice(0, eq)}=[redacted]` : p;
}

/**
 * SECRET_PARAM's verdict on a parameter name, remembered: a route's requests repeat the same few
 * names (WeChat's timestamp, nonce, signature, openid on every callback), and the expression's
 * `.*name.*` alternatives scan each name several times over (~0.4% of the webhook's CPU in a
 * profile, bench/README.md "Hot paths, a tenth pass: the webhook"). Bounded: names are the
 * client's to choose.
 */
function isSecretName(name: string): boolean {
  let secret = secretNames.get(name);
  if (secret === undefined) {
    secret = SECRET_PARAM.test(name);
    if (secretNames.size >= 1000) secretNames.clear();
    secretNames.set(name, secret);
  }
  return secret;
}
const secretNames = new Map<string, boolean>();

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
  /**
   * Where the line is written as text, built here: the destination, unless it routes lines by
   * the metadata pino sets before each write (pino.multistream), then the line goes through `out`.
   */
  private readonly stream: pino.DestinationStream | undefined;
  /** `{"level":30` (the info level's number, as `out` writes it). */
  private readonly head: string;
  /** `out`'s bindings as pino writes them after the time: `,"pid":...,"hostname":"..."`. */
  private readonly bindings: string;

  /**
   * The header an incoming request id comes in (Fastify's `requestIdHeader`), when the app's own
   * ids (`genReqId`, for a request without it or with it empty) hold nothing JSON escapes, as
   * request-id.ts's do: a request without the header has such an id, and its line does not test
   * it (the test read the id, a string of two pieces, copying it into one: ~0.6k instructions per
   * request, bench/README.md "Hot paths, an eleventh pass").
   */
  private readonly plainIdsWithout: string | undefined;

  constructor(root: Logger, opts: { plainIdsWithout?: string } = {}) {
    super();
    this.plainIdsWithout = opts.plainIdsWithout;
    const stream = (root as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
    this.out = pino({ level: root.level }, stream);
    this.stream = (stream as unknown as Record<symbol, unknown>)[pino.symbols.needsMetadataGsym] ? undefined : stream;
    this.head = `{"level":${this.out.levels.values.info}`;
    this.bindings = (this.out as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
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
      if (this.stream) {
        const url = req.url;
        const idPlain = this.plainIdsWithout !== undefined && req.headers[this.plainIdsWithout] === undefined;
        this.stream.write(
          this.line(req.id, req.method, logUrl(url), reply.statusCode, round(reply.elapsedTime), !needsJsonEscape(url), idPlain),
        );
      } else
        this.out.info(
          { reqId: req.id, method: req.method, url: logUrl(req.url), status: reply.statusCode, ms: round(reply.elapsedTime) },
          'request',
        );
    }
  }

  /**
   * The line `out.info({reqId, method, url, status, ms}, 'request')` writes, byte for byte
   * (test/platform/access-log.test.ts compares them), built as one string: pino's generic
   * serialization of the object (its key walk, a type test and a stringifier per value) was ~4%
   * of a hot path's CPU. Strings are quoted by JSON.stringify, as pino does for any string it
   * must escape (the others it writes as they are, which is the same text). `urlPlain`: the
   * caller knows `url` holds nothing JSON escapes: logUrl's URL holds only what the request's URL
   * holds and `[redacted]`, so the request's URL is tested instead (already one piece of text:
   * logUrl's result is two or three, which a test of its characters would first copy into one,
   * ~0.5k instructions per request, bench/README.md "Hot paths, a ninth pass"). `idPlain`: the
   * same for the request id (see plainIdsWithout).
   */
  line(reqId: string, method: string, url: string, status: number, ms: number, urlPlain = false, idPlain = false): string {
    const head = this.lineHead(Date.now());
    // Every string plain (the common case): one template, each constant between the values one
    // piece, without quote()'s strings of a value and its quotes (6 concatenations and their
    // strings fewer per line, bench/README.md "Hot paths, an eleventh pass").
    if ((urlPlain || !needsJsonEscape(url)) && (idPlain || !needsJsonEscape(reqId)) && !needsJsonEscape(method))
      return `${head},"reqId":"${reqId}","method":"${method}","url":"${url}","status":${status},"ms":${msText(ms)},"msg":"request"}\n`;
    return `${head},"reqId":${quote(reqId)},"method":${quote(method)},"url":${urlPlain ? `"${url}"` : quote(url)},"status":${status},"ms":${msText(ms)},"msg":"request"}\n`;
  }

  /** The time of the last line written, and its line head up to the bindings (many lines share a millisecond). */
  private lastNow = -1;
  private lastHead = '';

  /**
   * `{"level":30,"time":<now>,"pid":...,"hostname":"..."`, made once per millisecond (a time is 13
   * digits, beyond the small integers V8 keeps as text: ~45 ns a line in a loop, bench/README.md
   * "an eighth pass").
   */
  private lineHead(now: number): string {
    if (now !== this.lastNow) {
      this.lastNow = now;
      this.lastHead = `${this.head},"time":${now}${this.bindings}`;
    }
    return this.lastHead;
  }
}

/**
 * A string as JSON.stringify quotes it. Most are plain (a UUID, a method, a path and query):
 * those are quoted as they are, the rest go through JSON.stringify. callgrind, the three quotes
 * of an access line: ~4.0k -> ~2.2k instructions (bench/README.md, "Hot paths, a sixth pass").
 * (A loop over the char codes instead of the regular expression was slower: 133 -> 190 ns for a
 * UUID and a URL, "an eighth pass".)
 */
function quote(s: string): string {
  return needsJsonEscape(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * A number of milliseconds as JSON (and String) writes it, for the times `round` gives (at most
 * two decimals): from the integer number of hundredths, without V8's double-to-text conversion
 * (in a loop ~91 -> ~34 ns a line, bench/README.md "an eighth pass"). Such a double is the
 * nearest to its two-decimal value, and below 1e13 no shorter decimal is that near, so the
 * shortest text that reads back as it (what JSON writes) is that value with its trailing zeros
 * dropped. Anything else goes through String.
 */
export function msText(ms: number): string {
  const h = Math.round(ms * 100);
  if (!(h >= 0 && h < 1e15 && h / 100 === ms)) return String(ms);
  const whole = Math.floor(h / 100);
  const frac = h - whole * 100;
  if (frac === 0) return `${whole}`;
  if (frac % 10 === 0) return `${whole}.${frac / 10}`;
  return `${whole}.${frac < 10 ? '0' : ''}${frac}`;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** A level's number (pino's default levels); `silent` and unknown names are above every line. */
const levelValue = (level: string): number => pino.levels.values[level] ?? Infinity;

/**
 * Makes Fastify's root logger (`app.log`, whose `child` Fastify calls for each request's
 * `req.log`, app.ts) answer the request's logger: the root's child with the request's bindings
 * (its reqId) and the route's level, made when the request first writes a line at an enabled
 * level. Most requests write none (the access line goes through AccessLog with `req.id`), and a
 * pino child per request cost a few percent of a hot path's CPU (its bindings serialized and run
 * through the redaction). What is written is exactly what the child would write: the same child,
 * made later.
 *
 * Done on the logger rather than as Fastify's `childLoggerFactory` option: Fastify checks each
 * request's logger a factory of ours makes (validateLogger: an array, a closure and 14 property
 * reads per request, megamorphic in the service: ~150 ns in a loop, bench/README.md "Hot paths,
 * an eighth pass"), and skips the check for its own default factory, which calls this `child`.
 * Only calls on the root itself are lazy: pino's children inherit the root's methods, and a
 * child's own `child` (a request logger's, say) must keep that child's bindings.
 */
export function makeRequestLoggersLazy(root: FastifyBaseLogger): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with its `this` (the root, or a child inheriting it)
  const child = root.child;
  const make = (bindings: Bindings, opts: ChildLoggerOptions) => child.call(root, bindings, opts);
  root.child = function (this: FastifyBaseLogger, bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this === root ? new RequestLogger(root, bindings, opts ?? {}, make) : child.call(this, bindings, opts);
  };
}

class RequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
    private readonly make: (bindings: Bindings, opts: ChildLoggerOptions) => FastifyBaseLogger,
  ) {}

  #real(): FastifyBaseLogger {
    return (this.#child ??= this.make(this.bindings, this.opts));
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
