/**
 * Maps every error inside a module's routes to that module's envelope. Fastify's own errors
 * (malformed JSON, body too large, wrong content type, schema validation) become "bad input" in
 * the module's terms; unknown errors become a generic answer with the request id.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, databaseUnavailableReason, RateLimitedError, ServiceUnavailableError } from './errors.js';

export interface ErrorView {
  /** The AppError, or a synthetic one for framework and unknown errors. */
  error: AppError;
  /** True when the error was not an AppError (a bug or an outage). */
  internal: boolean;
  /**
   * True when the service cannot answer now (database unreachable or busy, instance stopping):
   * the error is a ServiceUnavailableError, `internal` is true too (so a seed envelope picks its
   * "other error" code), and useEnvelope answers HTTP 503 with Retry-After whatever the mapper says.
   */
  unavailable?: boolean;
}

/** Retry-After for a database that went away: a restart or failover takes seconds. */
const DB_RETRY_AFTER_MS = 5000;

/** Turns what a module's envelope needs into a reply body and HTTP status. */
export type EnvelopeMapper = (view: ErrorView, req: FastifyRequest) => { status: number; body: unknown };

/** Classifies any thrown value. `badInput` builds the module's "invalid parameters" error. */
export function classifyError(err: unknown, badInput: (message: string) => AppError, req: FastifyRequest): ErrorView {
  if (err instanceof ServiceUnavailableError) return { error: err, internal: true, unavailable: true };
  if (err instanceof AppError) return { error: err, internal: false };
  const down = databaseUnavailableReason(err);
  if (down) {
    // An outage, not a bug: one line at warn, no stack; the client gets a clear 503.
    req.log.warn({ reason: down }, 'answered 503: the database is unavailable');
    return {
      error: new ServiceUnavailableError(
        `the service is temporarily unavailable (its database cannot be reached); try again in a few seconds (request ${req.id})`,
        DB_RETRY_AFTER_MS,
      ),
      internal: true,
      unavailable: true,
    };
  }
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const where = first?.path.length ? `${first.path.join('.')}: ` : '';
    return { error: badInput(`${where}${first?.message ?? 'invalid input'}`), internal: false };
  }
  const fe = err as FastifyError;
  if (fe?.validation) {
    return { error: badInput(`invalid input: ${fe.message}`), internal: false };
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const message =
      fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || /JSON/.test(fe.message)
        ? 'the request body is not valid JSON'
        : fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413
          ? 'the request body is too large'
          : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fe.statusCode === 415
            ? 'unsupported content type'
            : fe.message;
    return { error: badInput(message), internal: false };
  }
  req.log.error({ err }, 'unhandled error');
  return {
    error: new AppError('internal', `internal error (request ${req.id}); it has been logged`, 500),
    internal: true,
  };
}

/** Installs an error handler and a not-found handler on an encapsulated Fastify context. */
export function useEnvelope(app: FastifyInstance, badInput: (message: string) => AppError, map: EnvelopeMapper): void {
  app.setErrorHandler((err, req, reply: FastifyReply) => {
    const view = classifyError(err, badInput, req);
    if (view.error instanceof RateLimitedError) {
      reply.header('Retry-After', Math.ceil(view.error.retryAfterMs / 1000));
    }
    const { status, body } = map(view, req);
    if (view.error instanceof ServiceUnavailableError) {
      reply.header('Retry-After', Math.max(1, Math.ceil(view.error.retryAfterMs / 1000)));
      return reply.status(503).send(body);
    }
    return reply.status(status).send(body);
  });
}
