/**
 * HTTP plumbing of the accounts plugin: the seed's envelope for every error (HTTP 200,
 * `{code, error}`), a validator that names the seed's code for the failing field, a JSON parser
 * that tolerates an empty body (DELETE with a JSON content type), and the session check.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import { useEnvelope } from '../../platform/http/envelope.js';
import { AccountsError, C, fail } from './errors.js';
import { FIELD_CODES } from './schemas.js';
import type { AccountsService, ResolvedSession } from './service.js';

/** Largest JSON body any accounts route takes. */
export const ACCOUNTS_BODY_LIMIT = 16 * 1024;

function codeFor(field: string | undefined, httpPart: string | undefined, url: string, method: string): number {
  if (field === 'code') return httpPart === 'querystring' ? C.LINK_MALFORMED : C.CODE_WRONG;
  if (httpPart === 'params') return field === 'id' ? C.ADDRESS_ID : C.CANNOT_GET_USER;
  if (field && FIELD_CODES[field] !== undefined) return FIELD_CODES[field];
  if (method === 'PUT' && url.includes('/address/')) return C.ADDRESS_MODIFY;
  return C.INVALID_PARAMS;
}

/** Installs the envelope, the validator and the JSON parser on the (encapsulated) accounts context. */
export function installAccountsHttp(app: FastifyInstance): void {
  useEnvelope(
    app,
    (message) => fail(C.INVALID_PARAMS, message),
    (view, req) => {
      const e = view.error;
      if (view.internal) {
        const code = req.url.includes('/address') ? (req.method === 'GET' ? C.ADDRESS_GET : C.ADDRESS_STORE) : C.USER_QUERY_ERROR;
        return { status: 200, body: { code, error: e.message } };
      }
      const code = typeof e.code === 'number' ? e.code : C.INVALID_PARAMS;
      const extra = e instanceof AccountsError ? e.extra : undefined;
      return { status: 200, body: { code, error: e.message, ...extra } };
    },
  );

  app.setValidatorCompiler(({ schema, httpPart, url, method }) => (data: unknown) => {
    const r = (schema as unknown as ZodType).safeParse(data);
    if (r.success) return { value: r.data };
    const issue = r.error.issues[0];
    const field = issue?.path[0] === undefined ? undefined : String(issue.path[0]);
    if (issue?.code === 'unrecognized_keys') {
      const keys = (issue as { keys?: string[] }).keys ?? [];
      return {
        error: fail(
          url.includes('/address/') && method === 'PUT' ? C.ADDRESS_MODIFY : C.INVALID_PARAMS,
          `unknown field(s): ${keys.join(', ')}`,
        ),
      };
    }
    if (data === undefined || data === null || (issue?.path.length === 0 && issue.code === 'invalid_type')) {
      return { error: fail(C.INVALID_PARAMS, httpPart === 'body' ? 'a JSON object body is required' : `invalid ${httpPart}`) };
    }
    const where = field ? `${field}: ` : '';
    return { error: fail(codeFor(field, httpPart, url, String(method)), `${where}${issue?.message ?? 'invalid input'}`) };
  });

  // Answers are built by our own typed handlers; the zod response schemas document them (OpenAPI)
  // and the error envelope may accompany any route, so serialise plainly instead of re-validating
  // every answer on the hot path.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: ACCOUNTS_BODY_LIMIT }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return done(fail(C.INVALID_PARAMS, 'the request body is not valid JSON'), undefined);
    }
    // A literal `null` is not "no body" (that is an empty body): refuse it like any non-object.
    if (value === null) return done(fail(C.INVALID_PARAMS, 'a JSON object body is required'), undefined);
    done(null, value);
  });
}

/** The token from `Authorization: <token>` or `Authorization: Bearer <token>`. */
export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const t = h.trim().replace(/^Bearer\s+/i, '');
  return t || undefined;
}

/**
 * The caller's session, or 10101. When `pathUser` is given it must be the caller's own
 * username, else 10134 (nothing is read or changed). Inactive accounts get 10104 unless `allowInactive`.
 */
export async function requireSession(
  accounts: AccountsService,
  req: FastifyRequest,
  opts: { pathUser?: string; allowInactive?: boolean } = {},
): Promise<ResolvedSession> {
  const token = bearer(req);
  const s = token ? await accounts.resolveSession(token, 'web') : null;
  if (!s) throw fail(C.NOT_LOGGED_IN, 'not logged in: send Authorization: <token>');
  if (opts.pathUser !== undefined && opts.pathUser !== s.user.username) throw fail(C.CANNOT_GET_USER, 'this is not your account');
  if (!s.user.isActive && !opts.allowInactive) {
    throw fail(C.USER_QUERY_ERROR, 'this account is not activated yet: open the link in the activation mail', { reason: 'not_activated' });
  }
  return s;
}
