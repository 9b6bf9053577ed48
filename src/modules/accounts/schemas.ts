/**
 * Zod schemas of the accounts routes (they feed validation and the OpenAPI page), and the map
 * from a failing field to the seed's code, so a bad `postcode` is 10118 and not a generic 10100.
 */
import { z } from 'zod';
import { C } from './errors.js';
import { PASSWORD_MAX } from './password-policy.js';
import { normalizePhone, PHONE_INPUT_MAX } from './phone.js';

/** Usernames that would shadow a static path segment under /v1/users/. */
const RESERVED = new Set(['password', 'address', 'activation', 'tokens', 'admin', 'root']);

export const username = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{2,29}$/, 'a username has 3 to 30 letters, digits, "_", "." or "-"')
  .refine((u) => !RESERVED.has(u.toLowerCase()), 'this username is reserved');
export const email = z.string().trim().max(254).pipe(z.email('not a valid email address'));
/** Length and content rules are checked by password-policy.ts (with a clearer reason); this only bounds size. */
const password = z
  .string()
  .min(1, 'the password is required')
  .max(PASSWORD_MAX * 4, 'the password is too long');

export const PHONE_RULE =
  'a phone number: mainland without a country code (13812345678, 010-12345678), any other with its "+" code (+44 20 7946 0958)';
/** Any valid number (libphonenumber-js), stored normalized (phone.ts). */
const phone = z
  .string()
  .max(PHONE_INPUT_MAX, PHONE_RULE)
  .transform((v, ctx) => {
    const n = normalizePhone(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: PHONE_RULE });
      return z.NEVER;
    }
    return n;
  });
const receiver = z.string().trim().min(1, 'the receiver is required').max(10, 'the receiver has at most 10 characters');
const addressText = z.string().trim().min(1, 'the address is required').max(100, 'the address has at most 100 characters');
/** Optional (empty when not given): a label such as "home" or "office". */
const tag = z.string().trim().max(10, 'the tag has at most 10 characters');
/**
 * Optional (empty when not given). Mainland postcodes are 6 digits; addresses abroad have their
 * own forms ("SW1A 1AA", "94105-1804"), so any 3-10 letters, digits, spaces or hyphens with a digit.
 */
const postcode = z
  .string()
  .trim()
  .refine(
    (v) => v === '' || (/^[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]$/.test(v) && /\d/.test(v)),
    'a postcode has 3-10 letters, digits, spaces or hyphens (6 digits in mainland China), or is left empty',
  );
/** Ids arrive as numbers or (as in the seed's examples) strings of digits. */
export const addressId = z
  .union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,15}$/, 'an address id is a number')])
  .transform((v) => Number(v));

export const registerBody = z.object({ username, email, password1: password, password2: password });
export const resendBody = z.object({ email: email.optional(), username: z.string().max(64).optional() }).nullish();
export const activationQuery = z.object({ code: z.string().max(200) });
export const loginBody = z
  .object({ username: z.string().min(1).max(254).optional(), email: z.string().min(1).max(254).optional(), password })
  .refine((b) => b.username !== undefined || b.email !== undefined, { message: 'username or email is required', path: ['username'] });
export const changePasswordBody = z
  .object({ oldpassword: password.optional(), oldpasword: password.optional(), password1: password, password2: password })
  .refine((b) => b.oldpassword !== undefined || b.oldpasword !== undefined, {
    message: 'the old password is required',
    path: ['oldpassword'],
  });
export const smsBody = z.object({ email });
export const verifyBody = z.object({ email, code: z.string().trim().max(20) });
/** The seed's table for step 3 spells the confirmation `Password2` (its example: `password2`): both are taken. */
export const newPasswordBody = z
  .object({
    email,
    password1: password,
    password2: password.optional(),
    Password2: password.optional(),
    ticket: z.string().max(200).optional(),
    code: z.string().trim().max(20).optional(),
  })
  .refine((b) => b.password2 !== undefined || b.Password2 !== undefined, { message: 'password2 is required', path: ['password2'] });

export const addressBody = z.object({
  receiver,
  address: addressText,
  tag: tag.default(''),
  receiver_phone: phone.optional(),
  receiver_mobile: phone.optional(),
  postcode: postcode.default(''),
});
/** The seed's PUT table spells the field `Address` (its example: `address`): both are taken. */
export const addressPatch = z.object({
  receiver: receiver.optional(),
  address: addressText.optional(),
  Address: addressText.optional(),
  tag: tag.optional(),
  receiver_phone: phone.optional(),
  receiver_mobile: phone.optional(),
  postcode: postcode.optional(),
  // Clients may repeat the id in the body (as the seed's DELETE example does); it must match the path.
  id: addressId.optional(),
});
/** The seed's DELETE example sends `{id}` (and lists `username`); both optional, both must agree with the path. */
export const deleteBody = z.object({ id: addressId.optional(), username: z.string().max(64).optional() }).nullish();
export const defaultBody = z.object({ id: addressId });
export const userParams = z.strictObject({ username: z.string().max(64) });
export const addressParams = z.strictObject({
  username: z.string().max(64),
  id: z.string().regex(/^\d{1,15}$/, 'an address id is a number'),
});

// ---- responses (one schema per route: the success shape or the error envelope) ----
export const errorEnvelope = z.looseObject({ code: z.number().int(), error: z.string() });
export const okText = z.union([z.object({ code: z.literal(200), data: z.string() }), errorEnvelope]);
export const activationAnswer = z.union([
  z.object({
    code: z.literal(200),
    data: z.string(),
    already_active: z.literal(true).optional().describe('the account was already active (this or another link used before): log in'),
  }),
  errorEnvelope,
]);
export const tokenAnswer = z.union([
  z.object({ code: z.literal(200), username: z.string(), data: z.object({ token: z.string() }) }),
  errorEnvelope,
]);
export const ticketAnswer = z.union([
  z.object({
    code: z.literal(200),
    data: z.string(),
    email: z.string(),
    ticket: z.string().describe('one-time reset ticket for /v1/users/password/new (15 minutes)'),
  }),
  errorEnvelope,
]);
export const addressItem = z.object({
  id: z.number().int(),
  receiver: z.string(),
  address: z.string(),
  tag: z.string(),
  receiver_mobile: z.string(),
  receiver_phone: z.string(),
  postcode: z.string(),
  is_default: z.enum(['True', 'False']),
});
export const addressListAnswer = z.union([
  z.object({ code: z.literal(200), data: z.string().optional(), addresslist: z.array(addressItem) }),
  errorEnvelope,
]);

/** Which seed code a failing field maps to (anything else: 10100 invalid parameters). */
export const FIELD_CODES: Record<string, number> = {
  username: C.BAD_USERNAME,
  email: C.BAD_EMAIL,
  password: C.INVALID_PASSWORD,
  password1: C.INVALID_PASSWORD,
  password2: C.CONFIRM_WRONG,
  Password2: C.CONFIRM_WRONG,
  oldpassword: C.OLD_PASSWORD_MISSING,
  oldpasword: C.OLD_PASSWORD_MISSING,
  ticket: C.LINK_INVALID,
  receiver: C.BAD_RECEIVER,
  address: C.BAD_ADDRESS,
  Address: C.BAD_ADDRESS,
  tag: C.BAD_TAG,
  receiver_phone: C.BAD_PHONE,
  receiver_mobile: C.BAD_PHONE,
  postcode: C.BAD_POSTCODE,
  id: C.ADDRESS_ID,
};
