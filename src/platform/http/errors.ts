/**
 * A handful of error classes carrying a stable code. Services throw these; each module's error
 * handler (see envelope.ts) maps them into that module's envelope. Anything else is an unknown
 * error: logged with the request id, answered with a generic message, never a stack trace.
 */

/** An error a user can act on. `code` is the module's own code (number or string). */
export class AppError extends Error {
  constructor(
    readonly code: number | string,
    message: string,
    /** HTTP status for the v2 REST API; the seeds' endpoints always answer 200. */
    readonly status = 400,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'not found', code: number | string = 'not_found') {
    super(code, message, 404);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'authentication required', code: number | string = 'unauthorized') {
    super(code, message, 401);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'forbidden', code: number | string = 'forbidden') {
    super(code, message, 403);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code: number | string = 'conflict') {
    super(code, message, 409);
  }
}

export class RateLimitedError extends AppError {
  constructor(
    readonly retryAfterMs: number,
    message = 'too many attempts, try again later',
    code: number | string = 'rate_limited',
  ) {
    super(code, message, 429);
  }
}

/**
 * The service cannot answer now (the database is unreachable or busy, or the instance is
 * stopping); the caller should try again after `retryAfterMs`. Every envelope answers it with
 * HTTP 503 and `Retry-After`.
 */
export class ServiceUnavailableError extends AppError {
  constructor(
    message = 'the service is temporarily unavailable; try again in a few seconds',
    readonly retryAfterMs = 5000,
    code: number | string = 'unavailable',
  ) {
    super(code, message, 503);
  }
}

/** PostgreSQL SQLSTATEs (and 55000 with "not currently accepting connections": ALLOW_CONNECTIONS false) that mean "the server or the connection is away", not "your query is wrong". */
const PG_UNAVAILABLE = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  '25P03', // idle_in_transaction_session_timeout
]);
const NET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
const PG_CLIENT_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|terminating connection|not currently accepting connections|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * Why the database cannot serve now, or undefined when `err` is not that kind of error: a
 * PostgreSQL connection lost, refused or timed out, the server shutting down, too many
 * connections; SQLite busy or locked past its busy timeout, or the disk full or failing.
 * Looks through `cause` chains (Kysely and our migrator wrap errors).
 */
export function databaseUnavailableReason(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    if (
      code.startsWith('08') ||
      PG_UNAVAILABLE.has(code) ||
      NET_UNAVAILABLE.has(code) ||
      ((code === '' || code === '55000') && PG_CLIENT_MESSAGES.test(message))
    ) {
      return `database unreachable: ${message || code}`;
    }
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return `database busy: ${message || code}`;
    if (/^SQLITE_(FULL|IOERR)/.test(code)) return `database storage failing: ${message || code}`;
  }
  return undefined;
}
