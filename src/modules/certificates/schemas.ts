/** zod schemas of the v2 API (they feed validation, serialization and the OpenAPI page). */
import { z } from 'zod';

const coord = z.number().min(-100_000).max(100_000);
const textField = z.object({
  x: coord,
  y: coord,
  size: z.number().min(1).max(2000),
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #1a2b3c'),
  align: z.enum(['left', 'center', 'right']),
  maxWidth: z.number().min(1).max(100_000).optional(),
  font: z.string().max(100).optional(),
});
const dateField = textField.extend({ format: z.string().max(50).optional() });
const qrField = z.object({ x: coord, y: coord, size: z.number().min(16).max(5000) });

/** Keys of custom fields (import-columns.ts fieldKey): letters of any script, digits, `_`. */
export const fieldKeySchema = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[\p{L}\p{N}_]+$/u, 'a custom field key');
export const layoutSchema = z.object({
  name: textField,
  number: textField,
  date: dateField,
  qr: qrField,
  fields: z.record(z.string(), textField).optional(),
});
/** Unsaved or partial layout edits: any field, any property. */
export const layoutEditsSchema = z
  .object({
    name: textField.partial(),
    number: textField.partial(),
    date: dateField.partial(),
    qr: qrField.partial(),
    fields: z.record(fieldKeySchema, textField.partial()),
  })
  .partial()
  .strict();

const counts = z.object({ '0': z.number(), '1': z.number(), '2': z.number(), '3': z.number(), '4': z.number() });
export const sendingState = z.enum(['idle', 'sending', 'paused']);

export const campaignSchema = z.object({
  id: z.number(),
  slug: z.string(),
  name: z.string(),
  organization: z.string(),
  website: z.string(),
  claimUrl: z.string(),
  archived: z.boolean(),
  layout: layoutSchema,
  dateFormat: z.string(),
  output: z.enum(['png', 'pdf']),
  template: z.object({ width: z.number(), height: z.number(), type: z.enum(['png', 'jpeg']) }).nullable(),
  /** The issuer's logo (shown on the credential page and named in the credential), or null. */
  logo: z
    .object({ url: z.string(), type: z.enum(['png', 'jpeg']) })
    .nullable()
    .optional(),
  /** Import columns beyond email/number/name, placeable on the template like the name. */
  customFields: z.array(z.object({ key: z.string(), label: z.string() })).optional(),
  mail: z.object({
    subject: z.string(),
    body: z.string(),
    ratePerSec: z.number().nullable(),
    dailyLimit: z.number().nullable(),
    smtp: z.object({
      host: z.string().nullable(),
      port: z.number().nullable(),
      security: z.enum(['tls', 'starttls', 'none']).nullable(),
      user: z.string().nullable(),
      from: z.string().nullable(),
      passwordSet: z.boolean(),
    }),
    fromName: z
      .string()
      .nullable()
      .optional()
      .describe('Display name of the From; null = the organization (or a name written in smtp.from as "Name <address>")'),
    replyTo: z.string().nullable().optional().describe('Reply-To of notices and certificates (the organizer)'),
    bounceMailbox: z
      .object({
        source: z.enum(['campaign', 'environment']),
        host: z.string(),
        port: z.number(),
        user: z.string(),
        mailbox: z.string(),
        tls: z.boolean(),
      })
      .nullable()
      .optional()
      .describe('The IMAP mailbox bounces are read from (the password is never shown); null = bounces are not read'),
  }),
  counts: counts.extend({ failed: z.number() }),
  sending: sendingState,
  createdAt: z.number(),
});

export const campaignPatchSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    organization: z.string().max(200),
    website: z.string().max(500),
    claimUrl: z.union([z.url({ protocol: /^https?$/ }).max(500), z.literal(''), z.null()]),
    layout: layoutEditsSchema,
    dateFormat: z.string().min(1).max(50),
    output: z.enum(['png', 'pdf']),
    mail: z
      .object({
        subject: z.string().max(500).nullable(),
        body: z.string().max(50_000).nullable(),
        ratePerSec: z.number().int().min(0).max(10_000).nullable(),
        dailyLimit: z.number().int().min(0).max(10_000_000).nullable(),
        smtp: z
          .object({
            host: z
              .string()
              .max(253)
              .regex(/^[A-Za-z0-9.-]*$/, 'a host name'),
            port: z.number().int().min(1).max(65535),
            security: z.enum(['tls', 'starttls', 'none']),
            user: z.string().max(254),
            password: z.string().max(500),
            from: z.string().max(300),
          })
          .partial()
          .strict(),
        fromName: z.string().max(200).nullable(),
        replyTo: z.union([z.email().max(320), z.literal(''), z.null()]),
        bounceImapUrl: z
          .union([z.url({ protocol: /^imaps?$/ }).max(1000), z.literal(''), z.null()])
          .describe('imaps://user:password@host:993/INBOX (imap:// only for a server on this machine)'),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

export const credentialStateSchema = z.object({
  id: z.string(),
  status: z.enum(['valid', 'revoked']),
  issuedAt: z.number(),
  revokedAt: z.number().nullable(),
  revocationReason: z.string().nullable(),
  replacedBy: z.string().nullable(),
  name: z.string(),
  verifyUrl: z.string(),
});

export const recipientSchema = z.object({
  id: z.number(),
  email: z.string(),
  number: z.string().nullable(),
  name: z.string().nullable(),
  status: z.number(),
  failure: z.string().nullable(),
  noticeCount: z.number(),
  certificateId: z.string().nullable(),
  updatedAt: z.number(),
  /** Custom field values from the import. */
  fields: z.record(z.string(), z.string()).optional(),
  /** The current credential's state (null before the name is submitted). */
  certificate: credentialStateSchema.nullable().optional(),
  unsubscribedAt: z
    .number()
    .nullable()
    .optional()
    .describe('one-click unsubscribe from this campaign: no more notices or reminders (the certificate still goes)'),
  bouncedAt: z.number().nullable().optional().describe('a hard bounce was read for a notice; `failure` holds the remote reason'),
});

export const progressSchema = z.object({
  counts,
  failed: z.object({ count: z.number(), latest: z.array(z.object({ email: z.string(), reason: z.string(), at: z.number() })) }),
  sending: sendingState,
  ratePerMin: z.number(),
  etaSeconds: z.number().nullable(),
  quota: z.object({ dailyLimit: z.number().nullable(), usedToday: z.number(), pausedUntil: z.number().nullable() }),
  outage: z
    .object({ reason: z.string(), nextProbeAt: z.number().nullable(), probes: z.number() })
    .nullable()
    .describe(
      'set while the SMTP server fails at the connection level (refused, timeout, TLS, 421, 535): sending waits and probes the server with backoff, failing no one',
    ),
  optOut: z
    .object({ unsubscribed: z.number(), bounced: z.number(), blocked: z.number() })
    .optional()
    .describe('volunteers not mailed: unsubscribed from this campaign, hard-bounced, or on the blocklist'),
  history: z
    .array(z.object({ at: z.number(), sent: z.number(), claimed: z.number(), failed: z.number() }))
    .optional()
    .describe(
      "notices sent, certificates claimed and notices failed per minute over the last 15 minutes (minute start in ms; empty minutes left out), the whole fleet's",
    ),
});

export const importResultSchema = z.object({
  added: z.number(),
  duplicates: z.array(
    z.object({
      line: z.string(),
      lineNo: z.number(),
      email: z.string(),
      reason: z.string().optional().describe('where the email is already: earlier in this import, or in the campaign'),
    }),
  ),
  rejected: z.array(z.object({ line: z.string(), lineNo: z.number(), reason: z.string() })),
});

export const errorSchema = z.object({ code: z.string(), message: z.string() }).passthrough();
export const idParams = z.object({ id: z.string().max(100) });
export const ridParams = z.object({ id: z.string().max(100), rid: z.coerce.number().int().positive() });
