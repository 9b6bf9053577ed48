/**
 * The module's error codes. Seed endpoints answer HTTP 200 with `code` 1..4 (1 name missing or
 * invalid / bad input / wrong admin token, 2 token invalid, 3 already sent, 4 render or mail
 * failed); v2 answers the HTTP status with a string code.
 */
import { AppError } from '../../platform/http/errors.js';

/** An error with both faces: `seedCode` for the seed envelope, `code`/`status` for v2. */
export class CertError extends AppError {
  constructor(
    readonly seedCode: 1 | 2 | 3 | 4,
    code: string,
    message: string,
    status = 400,
    details?: unknown,
  ) {
    super(code, message, status, details);
  }
}

export const badInput = (message: string, details?: unknown) => new CertError(1, 'bad_request', message, 400, details);
// The seed's example answers an unknown token with "user not in server": keep those words.
export const tokenInvalid = () =>
  new CertError(2, 'token_invalid', 'token invalid (user not in server): this link is unknown or no longer valid', 404);
export const alreadySent = () =>
  new CertError(3, 'already_sent', 'the certificate was already sent for this link; the name can no longer be changed', 409);
export const notFound = (what: string) => new CertError(1, 'not_found', `${what} not found`, 404);
export const campaignNotFound = (ref: string | number) =>
  new CertError(1, 'campaign_not_found', `campaign "${String(ref).slice(0, 100)}" not found`, 404);
