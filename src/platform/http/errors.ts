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
