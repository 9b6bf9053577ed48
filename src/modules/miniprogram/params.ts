/**
 * Parameter schemas of the eight endpoints (zod): used to validate the merged parameters (query
 * string + JSON or form body) and to describe the routes in the OpenAPI page. Unknown parameters
 * are ignored, as the seed's clients expect (the SSO's answer, passed on as the seed says, carries
 * `name` too); the profile fields are free text within bounds (the seed's own examples have
 * `qq: "张三"`; school numbers look like "2019-0111"). What stays strict is what guards something:
 * the openid and token formats, sizes, control characters.
 */
import { z } from 'zod';
import { illegal } from './errors.js';

type Issue = z.core.$ZodIssue;

function text(name: string) {
  return z.string({ error: (i) => (i.input === undefined ? `${name} is required` : `${name} must be a string`) });
}

/** A text field; JSON numbers are read as their digits (legacy clients send `qq: 12345678`). */
function field(name: string, re: RegExp, rule: string) {
  return z.preprocess(
    (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : typeof v === 'string' ? v.trim() : v),
    text(name).regex(re, { error: `${name} must be ${rule}` }),
  );
}

export const openidField = text('openid').regex(/^[A-Za-z0-9_-]{1,128}$/, {
  error: 'openid must be 1 to 128 letters, digits, _ or -',
});
/** A phone number as people write it: digits, an optional leading +, spaces or dashes between. */
export const phoneField = field('phone', /^\+?\d[\d -]{3,18}\d$/, 'a phone number: 5 to 20 digits, spaces or dashes');
/** The seed calls it qq and fills it with what the SSO answers (a name in its example). */
export const qqField = field('qq', /^[^\p{C}]{1,50}$/u, '1 to 50 characters without control characters');
export const cardnoField = field('cardno', /^[^\p{C}]{1,32}$/u, '1 to 32 characters without control characters');
/** wxid: optional ('' means none), other contact details as the seed says. */
export const wxidField = field('wxid', /^[^\p{C}]{0,50}$/u, 'at most 50 characters without control characters');
const tokenField = text('token').regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'token is malformed' });

export const getOpenidParams = z.object({
  js_code: text('js_code').regex(/^[A-Za-z0-9_-]{1,128}$/, { error: 'js_code must be the code from wx.login()' }),
  token: tokenField.optional(),
});

export const loginParams = z.object({
  openid: openidField,
  phone: phoneField,
  qq: qqField,
  cardno: cardnoField,
  wxid: wxidField.optional(),
  token: tokenField.optional(),
});

export const openidParams = z.object({ openid: openidField, token: tokenField.optional() });

export const updateParams = z.object({
  openid: openidField,
  /** The seed sends a JSON string; a JSON body may carry the object itself. Checked in the service. */
  update: z.union([z.string().max(2048, { error: 'update is too long' }), z.record(z.string(), z.unknown()), z.array(z.unknown())], {
    error: (i) => (i.input === undefined ? 'update is required' : 'update must be a JSON string'),
  }),
  token: tokenField.optional(),
});

/** A profile field `update` may not change: named, it is refused rather than silently ignored. */
const fixed = (name: string) => z.never({ error: `${name} cannot be changed (update takes phone, qq, cardno, wxid)` }).optional();
export const updateFields = z.object({
  phone: phoneField.optional(),
  qq: qqField.optional(),
  cardno: cardnoField.optional(),
  wxid: wxidField.optional(),
  id: fixed('id'),
  openid: fixed('openid'),
  created_at: fixed('created_at'),
  modified_at: fixed('modified_at'),
});

export const MAX_HIST_CHARS = 100;
export const addHistoryParams = z.object({
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
