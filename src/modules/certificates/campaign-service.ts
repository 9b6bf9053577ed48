/**
 * Campaigns: creation, settings (seed updateOrgConfig and v2 PATCH), template upload, and the
 * Campaign view the v2 API and the web pages show.
 */
import { createHash, randomBytes } from 'node:crypto';
import { verifyTemplate, ImageRejected } from './render/index.js';
import type { SmtpSettings } from '../../platform/mail/types.js';
import type { CampaignPatch, CampaignRow } from './campaigns-repo.js';
import type { CertDeps } from './deps.js';
import { badInput, campaignNotFound, CertError } from './errors.js';
import { DEFAULT_NOTICE_BODY, DEFAULT_NOTICE_SUBJECT, renderMail } from './mail-templates.js';
import { mergeLayout, parseStoredLayout, type StoredLayout } from './rendering.js';
import { isUniqueViolation } from '../../platform/db/index.js';
import { parseCustomFields } from './import-columns.js';

export interface SmtpPatch {
  host?: string;
  port?: number;
  security?: 'tls' | 'starttls' | 'none';
  user?: string;
  password?: string;
  from?: string;
}

export interface CampaignPatchInput {
  name?: string;
  organization?: string;
  website?: string;
  claimUrl?: string | null;
  layout?: StoredLayout;
  dateFormat?: string;
  output?: 'png' | 'pdf';
  mail?: {
    subject?: string | null;
    body?: string | null;
    ratePerSec?: number | null;
    dailyLimit?: number | null;
    smtp?: SmtpPatch;
    fromName?: string | null;
    replyTo?: string | null;
    /** `imap[s]://user:pass@host:port/MAILBOX`; '' or null = none (BOUNCE_IMAP_URL then). */
    bounceImapUrl?: string | null;
  };
}

/** The seed's updateOrgConfig fields (strings; empty = leave as it is). */
export interface OrgConfigInput {
  name?: string;
  website?: string;
  positions: Partial<Record<'name' | 'number' | 'date', { x?: number; y?: number }>>;
  username?: string;
  password?: string;
  smtpHost?: string;
  smtpPort?: number;
  referer?: string;
}

const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The SMTP host the original derived from the username: smtp.<domain>. */
export function deriveSmtpHost(username: string): string | undefined {
  const at = username.lastIndexOf('@');
  const domain =
    at >= 0
      ? username
          .slice(at + 1)
          .trim()
          .toLowerCase()
      : '';
  return /^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain) ? `smtp.${domain}` : undefined;
}

/**
 * The claim page address from a Referer, as the original did: the admin page's address with
 * `admin` replaced by `index` (query and fragment dropped). Undefined when the Referer is ours.
 */
export function claimUrlFromReferer(referer: string | undefined, publicUrl: string): string | undefined {
  if (!referer) return undefined;
  let u: URL;
  try {
    u = new URL(referer);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.origin === new URL(publicUrl).origin) return undefined;
  const i = u.pathname.lastIndexOf('admin');
  const path = i >= 0 ? `${u.pathname.slice(0, i)}index${u.pathname.slice(i + 5)}` : u.pathname;
  return `${u.origin}${path}`;
}

/** Builds the campaign service. */
export function createCampaignService(
  deps: Pick<CertDeps, 'campaigns' | 'recipients' | 'renderer' | 'secrets' | 'config' | 'now' | 'mailer'>,
) {
  const { campaigns, recipients, renderer, secrets, config, now } = deps;

  async function resolve(ref?: string | number | null): Promise<CampaignRow> {
    const r = ref === undefined || ref === null || ref === '' ? 'default' : ref;
    if (typeof r === 'string' && r.length > 100) throw campaignNotFound(r);
    const row = await campaigns.find(r);
    if (!row) throw campaignNotFound(r);
    return row;
  }

  function claimBase(c: CampaignRow): string {
    return c.claim_url || `${config.publicUrl}/certificate`;
  }

  /** The bounce mailbox a campaign reads (its own, else BOUNCE_IMAP_URL), without the password. */
  function bounceImapUrlOf(c: CampaignRow): { url: string; source: 'campaign' | 'environment' } | undefined {
    if (c.bounce_imap) {
      try {
        return { url: secrets.open(c.bounce_imap), source: 'campaign' };
      } catch {
        return undefined;
      }
    }
    return config.bounceImapUrl ? { url: config.bounceImapUrl, source: 'environment' } : undefined;
  }

  function bounceMailboxView(c: CampaignRow) {
    const b = bounceImapUrlOf(c);
    if (!b) return null;
    try {
      const u = new URL(b.url);
      return {
        source: b.source,
        host: u.hostname,
        port: Number(u.port) || (u.protocol === 'imaps:' ? 993 : 143),
        user: decodeURIComponent(u.username),
        mailbox: decodeURIComponent(u.pathname.slice(1)) || 'INBOX',
        tls: u.protocol === 'imaps:',
      };
    } catch {
      return null;
    }
  }

  async function view(c: CampaignRow) {
    const [layout, counts] = await Promise.all([renderer.layoutOf(c), recipients.counts(c.id)]);
    return {
      id: c.id,
      slug: c.slug,
      name: c.name,
      organization: c.organization,
      website: c.website,
      claimUrl: claimBase(c),
      archived: c.archived === 1,
      layout,
      dateFormat: c.date_format,
      output: c.output as 'png' | 'pdf',
      template: c.template_sha
        ? { width: c.template_width ?? 0, height: c.template_height ?? 0, type: (c.template_type ?? 'png') as 'png' | 'jpeg' }
        : null,
      logo: c.logo_sha ? { url: `${config.publicUrl}/issuers/${c.id}/logo`, type: (c.logo_type ?? 'png') as 'png' | 'jpeg' } : null,
      customFields: parseCustomFields(c.custom_fields),
      mail: {
        subject: c.mail_subject ?? DEFAULT_NOTICE_SUBJECT,
        body: c.mail_body ?? DEFAULT_NOTICE_BODY,
        ratePerSec: c.rate_per_sec,
        dailyLimit: c.daily_limit,
        smtp: {
          host: c.smtp_host,
          port: c.smtp_port,
          security: c.smtp_security as 'tls' | 'starttls' | 'none' | null,
          user: c.smtp_user,
          from: c.smtp_from,
          passwordSet: Boolean(c.smtp_password),
        },
        fromName: c.from_name,
        replyTo: c.reply_to,
        bounceMailbox: bounceMailboxView(c),
      },
      counts: { ...counts.byStatus, failed: counts.failed },
      sending: c.sending as 'idle' | 'sending' | 'paused',
      createdAt: c.created_at,
    };
  }

  function smtpPatch(s: SmtpPatch, patch: CampaignPatch): void {
    if (s.host !== undefined) patch.smtp_host = s.host || null;
    if (s.port !== undefined) patch.smtp_port = s.port;
    if (s.security !== undefined) patch.smtp_security = s.security;
    if (s.user !== undefined) patch.smtp_user = s.user || null;
    if (s.from !== undefined) patch.smtp_from = s.from || null;
    if (s.password !== undefined) patch.smtp_password = s.password ? secrets.seal(s.password) : null;
  }

  return {
    resolve,
    view,
    claimBase,
    async list(archived?: boolean) {
      return Promise.all((await campaigns.list(archived)).map(view));
    },
    async create(input: { name: string; slug?: string }) {
      const derived = input.slug === undefined;
      let slug =
        input.slug ??
        (input.name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-+|-+$/g, '')
          .slice(0, 40) ||
          `campaign-${randomBytes(4).toString('hex')}`);
      if (!SLUG_RE.test(slug)) throw badInput('slug: lower-case letters, digits and dashes, up to 63 characters');
      const t = now();
      // A slug the organizer typed must be theirs exactly; one derived from the name is ours to
      // make unique (two campaigns may well share a name), so a collision there gets a suffix.
      for (let attempt = 0; ; attempt++) {
        try {
          return view(await campaigns.create({ slug, name: input.name, created_at: t, updated_at: t }));
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          if (!derived || attempt >= 4) throw new CertError(1, 'conflict', `a campaign with slug "${slug}" exists already`, 409);
          slug = `${slug.replace(/-[0-9a-f]{6}$/, '')}-${randomBytes(3).toString('hex')}`;
        }
      }
    },
    async patch(c: CampaignRow, input: CampaignPatchInput) {
      const p: CampaignPatch = { updated_at: now() };
      if (input.name !== undefined) p.name = input.name;
      if (input.organization !== undefined) p.organization = input.organization;
      if (input.website !== undefined) p.website = input.website;
      if (input.claimUrl !== undefined) p.claim_url = input.claimUrl || null;
      if (input.layout !== undefined) p.layout = JSON.stringify(mergeLayout(parseStoredLayout(c.layout), input.layout));
      if (input.dateFormat !== undefined) p.date_format = input.dateFormat;
      if (input.output !== undefined) p.output = input.output;
      const m = input.mail;
      if (m) {
        if (m.subject !== undefined) p.mail_subject = m.subject || null;
        if (m.body !== undefined) p.mail_body = m.body || null;
        if (m.ratePerSec !== undefined) p.rate_per_sec = m.ratePerSec || null;
        if (m.dailyLimit !== undefined) p.daily_limit = m.dailyLimit || null;
        if (m.smtp) smtpPatch(m.smtp, p);
        if (m.fromName !== undefined) p.from_name = m.fromName?.trim() || null;
        if (m.replyTo !== undefined) p.reply_to = m.replyTo?.trim() || null;
        if (m.bounceImapUrl !== undefined) p.bounce_imap = m.bounceImapUrl ? secrets.seal(m.bounceImapUrl) : null;
      }
      const host = p.smtp_host !== undefined ? p.smtp_host : c.smtp_host;
      const security = p.smtp_security !== undefined ? p.smtp_security : c.smtp_security;
      // A password must never cross a network in clear text: plain SMTP only on this machine.
      if (security === 'none' && host && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host)) {
        throw badInput('mail.smtp.security "none" (no TLS) is only allowed for a server on this machine; use "starttls" or "tls"');
      }
      if (
        typeof input.mail?.bounceImapUrl === 'string' &&
        input.mail.bounceImapUrl.startsWith('imap:') &&
        !/^imap:\/\/[^/]*@?(127\.\d+\.\d+\.\d+|\[::1\]|localhost)(:\d+)?(\/|$)/i.test(input.mail.bounceImapUrl)
      ) {
        throw badInput('mail.bounceImapUrl: imap:// (no TLS) is only allowed for a server on this machine; use imaps://');
      }
      await campaigns.update(c.id, p);
      return view(await resolve(c.id));
    },
    async setArchived(c: CampaignRow, archived: boolean) {
      // An archived campaign sends nothing: archiving pauses a send under way.
      if (archived) await campaigns.setSending(c.id, 'paused', ['sending'], now());
      await campaigns.update(c.id, { archived: archived ? 1 : 0, updated_at: now() });
      return view(await resolve(c.id));
    },
    /** The seed's updateOrgConfig: empty fields leave values as they are. */
    async updateOrgConfig(c: CampaignRow, input: OrgConfigInput) {
      const p: CampaignPatch = { updated_at: now() };
      if (input.name) p.organization = input.name;
      if (input.website) p.website = input.website;
      const edits: StoredLayout = {};
      for (const k of ['name', 'number', 'date'] as const) {
        const pos = input.positions[k];
        if (pos && (pos.x !== undefined || pos.y !== undefined))
          edits[k] = { ...(pos.x !== undefined ? { x: pos.x } : {}), ...(pos.y !== undefined ? { y: pos.y } : {}) };
      }
      if (Object.keys(edits).length) p.layout = JSON.stringify(mergeLayout(parseStoredLayout(c.layout), edits));
      if (input.username) p.smtp_user = input.username;
      // As the original: the host is smtp.<domain of the username>, unless one is given.
      let host = input.smtpHost;
      if (!host && input.username) {
        host = deriveSmtpHost(input.username);
        if (!host) throw badInput('username: cannot derive the SMTP host from it (expected name@domain); give smtp_host');
      }
      if (host) {
        const port = input.smtpPort ?? 465;
        p.smtp_host = host;
        p.smtp_port = port;
        p.smtp_security = port === 465 ? 'tls' : 'starttls';
      }
      if (input.password) p.smtp_password = secrets.seal(input.password);
      const claim = claimUrlFromReferer(input.referer, config.publicUrl);
      if (claim) p.claim_url = claim;
      await campaigns.update(c.id, p);
      return resolve(c.id);
    },
    /**
     * Checks the image in full (type, size, pixels by content; every PNG chunk and byte of image
     * data, every JPEG block; a real decode) and makes it the campaign's template. A file that
     * only looks right in its header is refused here, not at every later render (issue 10 item 11).
     */
    async setTemplate(c: CampaignRow, bytes: Buffer) {
      let info;
      try {
        info = await verifyTemplate(bytes);
      } catch (err) {
        if (err instanceof ImageRejected) throw new CertError(1, 'image_rejected', `template rejected: ${err.message}`, 422);
        throw err;
      }
      const sha = createHash('sha256').update(bytes).digest('hex');
      const t = now();
      await campaigns.putTemplate({ sha256: sha, type: info.type, width: info.width, height: info.height, bytes, created_at: t });
      await campaigns.update(c.id, {
        template_sha: sha,
        template_type: info.type,
        template_width: info.width,
        template_height: info.height,
        updated_at: t,
      });
      return { width: info.width, height: info.height, type: info.type };
    },
    async templateBytes(c: CampaignRow) {
      if (!c.template_sha) return undefined;
      const row = await campaigns.getTemplate(c.template_sha);
      return row ? { bytes: Buffer.from(row.bytes), type: row.type } : undefined;
    },
    bounceImapUrlOf,
    /** The SMTP account a campaign sends through; undefined = SMTP_URL or the dev mailbox. */
    smtpFor(c: CampaignRow): SmtpSettings | undefined {
      if (!c.smtp_host) return undefined;
      let pass: string | undefined;
      if (c.smtp_password) {
        try {
          pass = secrets.open(c.smtp_password);
        } catch {
          pass = undefined;
        }
      }
      return {
        host: c.smtp_host,
        port: c.smtp_port ?? 465,
        security: (c.smtp_security as SmtpSettings['security']) ?? 'tls',
        user: c.smtp_user ?? undefined,
        pass,
        from: c.smtp_from ?? c.smtp_user ?? undefined,
      };
    },
    /** The notice with sample values (or unsaved subject/body), for the template editor. */
    previewMail(c: CampaignRow, edits: { subject?: string; body?: string }) {
      return renderMail(edits.subject ?? c.mail_subject ?? DEFAULT_NOTICE_SUBJECT, edits.body ?? c.mail_body ?? DEFAULT_NOTICE_BODY, {
        name: '张三 (Sample Name)',
        email: 'volunteer@example.org',
        link: `${claimBase(c)}?token=SAMPLE-TOKEN`,
        organization: c.organization || c.name,
        website: c.website,
        number: 'NO-0001',
      });
    },
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;
