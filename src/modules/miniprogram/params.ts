/**
 * Parameter schemas of the eight endpoints (zod): used to validate the merged parameters (query
 * string + JSON or form body) and to describe the routes in the OpenAPI page. Unknown parameters
 * are rejected so that a typo never silently changes nothing.
 */
import { z } from 'zod';
import { illegal } from './errors.js';

type Issue = z.core.$ZodIssue;

function text(name: string) {
  return z.string({ error: (i) => (i.input === undefined ? `${name} is required` : `${name} must be a string`) });
}

/** A digits field: JSON numbers are accepted too (legacy clients send `qq: 12345678`). */
function digitsField(name: string, re: RegExp, rule: string) {
  return z.preprocess(
    (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : v),
    text(name).regex(re, { error: `${name} must be ${rule}` }),
  );
}

export const openidField = text('openid').regex(/^[A-Za-z0-9_-]{1,128}$/, {
  error: 'openid must be 1 to 128 letters, digits, _ or -',
});
export const phoneField = digitsField('phone', /^\d{11}$/, '11 digits');
export const qqField = digitsField('qq', /^\d{5,12}$/, '5 to 12 digits');
export const cardnoField = digitsField('cardno', /^[A-Za-z0-9]{1,20}$/, '1 to 20 letters or digits');
/** wxid: optional, 6 to 20 visible characters ('' means none). */
export const wxidField = text('wxid').regex(/^(?:[^\s\p{C}]{6,20})?$/u, { error: 'wxid must be 6 to 20 characters without spaces' });
const tokenField = text('token').regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'token is malformed' });

export const getOpenidParams = z.strictObject({
  js_code: text('js_code').regex(/^[A-Za-z0-9_-]{1,128}$/, { error: 'js_code must be the code from wx.login()' }),
  token: tokenField.optional(),
});

export const loginParams = z.strictObject({
  openid: openidField,
  phone: phoneField,
  qq: qqField,
  cardno: cardnoField,
  wxid: wxidField.optional(),
  token: tokenField.optional(),
});

export const openidParams = z.strictObject({ openid: openidField, token: tokenField.optional() });

export const updateParams = z.strictObject({
  openid: openidField,
  /** The seed sends a JSON string; a JSON body may carry the object itself. Checked in the service. */
  update: z.union([z.string().max(2048, { error: 'update is too long' }), z.record(z.string(), z.unknown()), z.array(z.unknown())], {
    error: (i) => (i.input === undefined ? 'update is required' : 'update must be a JSON string'),
  }),
  token: tokenField.optional(),
});

export const updateFields = z.strictObject({
  phone: phoneField.optional(),
  qq: qqField.optional(),
  cardno: cardnoField.optional(),
  wxid: wxidField.optional(),
});

export const MAX_HIST_CHARS = 100;
export const addHistoryParams = z.strictObject({
  openid: openidField,
  hist: z
    .preprocess((v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : v), text('hist'))
    .refine((s) => s.trim() !== '', { error: 'hist must not be empty' })
    .refine((s) => [...s].length <= MAX_HIST_CHARS, { error: `hist must be at most ${MAX_HIST_CHARS} characters` })
    .refine((s) => !/\p{Cc}/u.test(s), { error: 'hist must not contain control characters' }),
  token: tokenField.optional(),
});

/** One clear sentence from zod's first issue. */
export function describeIssue(issue: Issue | undefined): string {
  if (!issue) return 'invalid parameters';
  if (issue.code === 'unrecognized_keys') return `unknown parameter${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  return issue.message;
}

/** Validates with `schema` or throws the endpoint's -1 with a clear message. */
export function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  const r = schema.safeParse(params);
  if (!r.success) throw illegal(describeIssue(r.error.issues[0]));
  return r.data;
}
