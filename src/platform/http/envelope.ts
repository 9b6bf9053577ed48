/**
 * Maps every error inside a module's routes to that module's envelope. Fastify's own errors
 * (malformed JSON, body too large, wrong content type, schema validation) become "bad input" in
 * the module's terms; unknown errors become a generic answer with the request id.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, RateLimitedError } from './errors.js';

export interface ErrorView {
  /** The AppError, or a synthetic one for framework and unknown errors. */
  error: AppError;
  /** True when the error was not an AppError (a bug or an outage). */
  internal: boolean;
}

/** Turns what a module's envelope needs into a reply body and HTTP status. */
export type EnvelopeMapper = (view: ErrorView, req: FastifyRequest) => { status: number; body: unknown };

/** Classifies any thrown value. `badInput` builds the module's "invalid parameters" error. */
export function classifyError(err: unknown, badInput: (message: string) => AppError, req: FastifyRequest): ErrorView {
  if (err instanceof AppError) return { error: err, internal: false };
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
    return reply.status(status).send(body);
  });
}
