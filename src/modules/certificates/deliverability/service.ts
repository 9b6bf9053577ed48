/**
 * What makes a notice land (issue 17): the campaign's own sender (From name and address, Reply-To)
 * over whichever SMTP server carries it, DKIM keys per sender domain (nodemailer signs), the
 * one-click unsubscribe link (RFC 8058) and the headers that announce it, the blocklist.
 */
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import type { Config } from '../../../config.js';
import { loadSecretKey, type SecretBox } from '../../../platform/crypto/secretbox.js';
import type { DB } from '../../../platform/db/index.js';
import type { Logger } from '../../../platform/logger.js';
import type { DkimSigning, SmtpSettings } from '../../../platform/mail/types.js';
import { environmentDkimKey } from '../../../platform/mail/index.js';
import { domainOf } from '../../../platform/text/email.js';
import type { CampaignRow } from '../campaigns-repo.js';
import { badInput, CertError } from '../errors.js';
import { createDeliverabilityRepo } from './repo.js';

export interface DeliverabilityDeps {
  db: DB;
  config: Config;
  secrets: SecretBox;
  logger: Logger;
  now: () => number;
}

/** How long a DKIM key read from the database is used before it is read again (other instances may change it). */
const DKIM_CACHE_MS = 30_000;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const SELECTOR_RE = /^[a-z0-9](?:[a-z0-9-_.]{0,61}[a-z0-9])?$/i;

/** `v=DKIM1; k=rsa; p=...` for a PEM private key; throws a bad-input error for anything but RSA. */
function publicKeyOf(privatePem: string): string {
  let key;
  try {
    key = createPrivateKey(privatePem);
  } catch {
    throw badInput('privateKey: not a PEM private key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw badInput('privateKey: DKIM keys here are RSA (nodemailer signs rsa-sha256)');
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 1024)
    throw badInput('privateKey: RSA keys under 1024 bits are refused by receivers; use 2048');
  return createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
}

export function createDeliverability(deps: DeliverabilityDeps) {
  const { db, config, secrets, now } = deps;
  const repo = createDeliverabilityRepo(db);
  // A key of its own for unsubscribe links, derived from the instance secret (SECRET_KEY or DATA_DIR/secret.key).
  const unsubKey = Buffer.from(
    hkdfSync('sha256', loadSecretKey(config.dataDir, config.secretKey), Buffer.alloc(0), 'volunteer-hub one-click unsubscribe v1', 32),
  );
  const dkimCache = new Map<string, { at: number; value: DkimSigning | undefined }>();
  let resolver: { resolveTxt(name: string): Promise<string[][]> } = (() => {
    const r = new Resolver({ timeout: 3000, tries: 2 });
    if (config.dnsServers.length) r.setServers(config.dnsServers);
    return r;
  })();

  function mac(rid: number): string {
    return createHmac('sha256', unsubKey).update(`unsubscribe:${rid}`).digest('base64url');
  }

  /** `<recipient id>.<HMAC-SHA256 of it>` (256 bits): nothing stored, nothing guessable. */
  function unsubscribeToken(rid: number): string {
    return `${rid}.${mac(rid)}`;
  }

  /** The recipient id a token names, when its MAC is right. */
  function recipientOfToken(token: string): number | undefined {
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return undefined;
    const rid = Number(m[1]);
    const a = Buffer.from(m[2]);
    const b = Buffer.from(mac(rid));
    return a.length === b.length && timingSafeEqual(a, b) ? rid : undefined;
  }

  function unsubscribeUrl(rid: number): string {
    return `${config.publicUrl}/unsubscribe/${unsubscribeToken(rid)}`;
  }

  /** The sender of a campaign's mail: From address and name, Reply-To. */
  function senderOf(c: CampaignRow, smtp: SmtpSettings | undefined): { from?: string; fromName: string; replyTo?: string } {
    // The campaign's own address, over its own SMTP server or the global one (issue 14 item 2);
    // the console accepts `Name <address>` in the From field.
    const raw = (c.smtp_from ?? smtp?.from ?? '').trim();
    const m = /^(.*)<([^<>]+)>\s*$/.exec(raw);
    const address = (m ? m[2] : raw).trim() || undefined;
    const nameInFrom = m
      ? m[1]
          .trim()
          .replace(/^"(.*)"$/, '$1')
          .trim()
      : '';
    return {
      from: address,
      fromName: (c.from_name ?? '').trim() || nameInFrom || c.organization || c.name,
      replyTo: c.reply_to ?? undefined,
    };
  }

  /** The From address mail goes out with when the campaign names none (as the mailer decides). */
  function globalFrom(): string {
    if (config.mailFrom) return config.mailFrom;
    try {
      const u = config.smtpUrl ? decodeURIComponent(new URL(config.smtpUrl).username) : '';
      if (u.includes('@')) return u;
    } catch {
      // SMTP_URL was checked at start.
    }
    return 'volunteer-hub@localhost';
  }

  /** RFC 2369 + RFC 8058 headers for one volunteer's notice. */
  function listHeaders(rid: number, mailtoAddress: string | undefined): Record<string, string> {
    const token = unsubscribeToken(rid);
    const parts = [`<${config.publicUrl}/unsubscribe/${token}>`];
    if (mailtoAddress) parts.push(`<mailto:${mailtoAddress}?subject=unsubscribe%20${token}>`);
    return { 'List-Unsubscribe': parts.join(', '), 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
  }

  /** The DKIM key for a sender domain: the console's, else the environment's; cached for 30 s. */
  async function dkimFor(domain: string): Promise<DkimSigning | undefined> {
    const d = domain.toLowerCase();
    const hit = dkimCache.get(d);
    if (hit && now() - hit.at < DKIM_CACHE_MS) return hit.value;
    let value: DkimSigning | undefined;
    const row = await repo.dkimKey(d);
    if (row) {
      try {
        value = { domainName: d, keySelector: row.selector, privateKey: secrets.open(row.private_sealed) };
      } catch {
        deps.logger.error({ domain: d }, 'DKIM key sealed under another SECRET_KEY: mail from this domain goes unsigned');
      }
    } else {
      value = environmentDkimKey(config, d);
    }
    dkimCache.set(d, { at: now(), value });
    return value;
  }

  function record(domain: string, selector: string, publicKey: string) {
    return { name: `${selector}._domainkey.${domain}`, type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${publicKey}` };
  }

  function normalizeDomain(domain: string): string {
    const d = domain.trim().toLowerCase().replace(/\.$/, '');
    if (!DOMAIN_RE.test(d)) throw badInput('domain: expected a domain name such as example.org');
    return d;
  }

  /**
   * Everything about who sends a campaign's mail: From (address and name), Reply-To and, when the
   * From domain has a key, DKIM. `unsubscribeFor` adds the List-Unsubscribe headers of a notice.
   */
  async function identity(c: CampaignRow, smtp: SmtpSettings | undefined, unsubscribeFor?: number) {
    const s = senderOf(c, smtp);
    const from = s.from ?? globalFrom();
    const dkim = await dkimFor(domainOf(from));
    return {
      from,
      fromName: s.fromName,
      replyTo: s.replyTo,
      dkim,
      headers: unsubscribeFor !== undefined ? listHeaders(unsubscribeFor, s.replyTo ?? from) : undefined,
    };
  }

  return {
    repo,
    identity,
    globalFrom,
    unsubscribeToken,
    recipientOfToken,
    unsubscribeUrl,
    senderOf,
    listHeaders,
    dkimFor,
    /** Tests point the DKIM check at their own DNS (default: node:dns with DNS_SERVERS). */
    setResolver(r: { resolveTxt(name: string): Promise<string[][]> }) {
      resolver = r;
    },
    /** Every DKIM domain with the DNS record to publish. */
    async dkimList() {
      const rows = await repo.dkimKeys();
      const out: Array<{
        domain: string;
        selector: string;
        source: 'console' | 'environment';
        record: ReturnType<typeof record>;
        updatedAt: number;
      }> = rows.map((r) => ({
        domain: r.domain,
        selector: r.selector,
        source: 'console',
        record: record(r.domain, r.selector, r.public_key),
        updatedAt: Number(r.updated_at),
      }));
      if (config.dkim && !rows.some((r) => r.domain === config.dkim!.domain)) {
        out.push({
          domain: config.dkim.domain,
          selector: config.dkim.selector,
          source: 'environment',
          record: record(config.dkim.domain, config.dkim.selector, publicKeyOf(config.dkim.privateKey)),
          updatedAt: 0,
        });
      }
      return out;
    },
    /** Sets a domain's selector and key (a new 2048-bit RSA key when none is given); answers the record to publish. */
    async putDkim(domainIn: string, selector: string, privateKey?: string) {
      const domain = normalizeDomain(domainIn);
      if (!SELECTOR_RE.test(selector)) throw badInput('selector: letters, digits, "-", "_" and "." (e.g. vh2026)');
      const pem =
        privateKey?.trim() ||
        generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const publicKey = publicKeyOf(pem);
      await repo.putDkimKey({ domain, selector, private_sealed: secrets.seal(pem), public_key: publicKey }, now());
      dkimCache.delete(domain);
      return { domain, selector, source: 'console' as const, record: record(domain, selector, publicKey), updatedAt: now() };
    },
    async deleteDkim(domainIn: string): Promise<void> {
      const domain = normalizeDomain(domainIn);
      if (!(await repo.deleteDkimKey(domain))) throw new CertError(1, 'not_found', `no DKIM key set in the console for ${domain}`, 404);
      dkimCache.delete(domain);
    },
    /** Looks the record up in DNS: published (with our key), published with another key, absent, or DNS unreachable. */
    async checkDkim(domainIn: string) {
      const domain = normalizeDomain(domainIn);
      const entry = (await this.dkimList()).find((k) => k.domain === domain);
      if (!entry) throw new CertError(1, 'not_found', `no DKIM key for ${domain}`, 404);
      const want = /p=([^;\s]+)/.exec(entry.record.value)![1];
      try {
        const txt = (await resolver.resolveTxt(entry.record.name)).map((chunks) => chunks.join(''));
        const keys = txt.map((t) => /(?:^|;)\s*p=([^;]*)/.exec(t)?.[1]?.replace(/\s+/g, '')).filter((x): x is string => !!x);
        const state = keys.includes(want) ? 'published' : keys.length ? 'different_key' : 'absent';
        return { domain, record: entry.record, state: state as 'published' | 'different_key' | 'absent' | 'unreachable', found: txt };
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA') return { domain, record: entry.record, state: 'absent' as const, found: [] };
        return {
          domain,
          record: entry.record,
          state: 'unreachable' as const,
          found: [],
          error: `${code ?? 'DNS'}: ${(err as Error).message}`,
        };
      }
    },
  };
}

export type Deliverability = ReturnType<typeof createDeliverability>;
