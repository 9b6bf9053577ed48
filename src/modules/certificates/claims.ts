/**
 * The volunteer's side: look up a link, submit the name (status 2, and in the same transaction
 * the `certificates.deliver` job that renders (3) and mails the certificate (4)), download,
 * verify. Also the deliver job itself.
 */
import { hashToken } from '../../platform/crypto/tokens.js';
import { preferSpeed } from '../../platform/heap-mode.js';
import { PermanentJobError, RetryLater, type JobContext } from '../../platform/jobs/types.js';
import { TemporaryMailError } from '../../platform/mail/types.js';
import { retryBackoffMs } from './sending.js';
import type { OutgoingMail } from '../../platform/mail/types.js';
import type { Deliverability } from './deliverability/service.js';
import { clientKey, counterKey, createAttemptLimiter, windowRule } from '../../platform/limits/attempts.js';
import { checkName, ImageRejected } from './render/index.js';
import { CLAIM_PREVIEW } from './rendering.js';
import type { CampaignService } from './campaign-service.js';
import { messageHost, newCertificateId, type CertDeps } from './deps.js';
import type { Credentials } from './credentials/service.js';
import { ensureIssued, planClaim } from './credentials/issue.js';
import { parseFieldValues } from './import-columns.js';
import { alreadySent, CertError, notFound, tokenInvalid } from './errors.js';
import { CERTIFICATE_BODY, CERTIFICATE_SUBJECT, frameNotice, renderMail } from './mail-templates.js';
import type { RecipientRow, TokenHit } from './recipients-repo.js';
import type { CampaignRow } from './campaigns-repo.js';
import { RateLimitedError } from '../../platform/http/errors.js';
import { certMetrics } from './metrics.js';
import { MAX_LEGACY_TOKEN } from './legacy-import.js';

export const DELIVER_KIND = 'certificates.deliver';
/** Characters refused in names (markup, code): `< > { } [ ] \ ; = | ` and backtick. */
const MARKUP_CHARS = /[<>{}[\]\\;=|`]/g;
/** Unknown tokens per client address per minute before lookups are refused. */
export const TOKEN_MISSES_PER_MINUTE = 120;
/** The refusal past TOKEN_MISSES_PER_MINUTE (made here, not as a closure in each lookup: it is the hot path). */
const refuse = (ms: number) => new RateLimitedError(ms, 'too many unknown links from this address; try again in a minute', 'rate_limited');
/** Previews per link (each may render): a volunteer trying names needs a few dozen. */
export const PREVIEWS_PER_LINK = { limit: 30, windowMs: 10 * 60_000 } as const;
/**
 * Previews per client address over all links: one address holding many links (a script, or an
 * organizer's test volunteers) cannot multiply the per-link budget. A family or an office behind
 * one address still gets several volunteers' worth.
 */
export const PREVIEWS_PER_CLIENT = { limit: 120, windowMs: 10 * 60_000 } as const;
/**
 * Full-size certificate files asked for by volunteers and the public (`/claim/download`,
 * `/verify/<id>.png|.pdf`; the id is printed in the QR code): each is a print-size render. Per
 * certificate and per client over all certificates; the organizer's own routes are not limited.
 */
export const FILES_PER_CERTIFICATE = { limit: 20, windowMs: 10 * 60_000 } as const;
export const FILES_PER_CLIENT = { limit: 60, windowMs: 10 * 60_000 } as const;

/** Builds the claim service and registers the deliver job. */
export function createClaims(deps: CertDeps, campaignsSvc: CampaignService, credentials: Credentials, sender: Deliverability) {
  const { campaigns, recipients, renderer, jobs, mailer, now, db, config, issued } = deps;
  const retryCfg = config.mailRetry ?? { firstMs: 1000, maxMs: 15 * 60_000, attempts: 12, probeMaxMs: 5 * 60_000 };
  const host = messageHost(config.publicUrl);
  const limiter = createAttemptLimiter({ db, now, fast: deps.fast });

  function verifyUrl(certId: string | null): string | undefined {
    return certId ? `${config.publicUrl}/verify/${certId}` : undefined;
  }

  /**
   * What the preview's QR code encodes before the certificate exists: the same verification
   * address with a stand-in id of the real id's length, so the preview shows the QR code at the
   * size and density the certificate will have (a scan says "not found": nothing is issued yet).
   */
  function previewVerifyUrl(certId: string | null): string {
    if (certId) return verifyUrl(certId)!;
    const len = newCertificateId().length;
    return `${config.publicUrl}/verify/${'preview-not-yet-issued'.padEnd(len, '0').slice(0, len)}`;
  }

  /**
   * Finds the recipient of a link token. An unknown token is counted against the client's address
   * in the database, one conditional upsert that refuses past the limit (so parallel guesses cannot
   * all be answered "unknown" before any is counted), and a known token is answered only while the
   * client is under the limit: past it every answer is 429, whether the token was right or not, so
   * a client learns about at most 120 tokens a minute. Counting misses after the lookup rather than
   * reserving before it keeps the volunteers' hot path at one read (no write per page view); the
   * lookup itself is one indexed query, not slow work. Any length up to 200 is looked up: tokens
   * imported from the original's data.json can be as short as its sample's `token0` (ours are 43
   * characters; this limit is what guards short ones).
   */
  async function lookup(token: unknown, ip: string): Promise<TokenHit> {
    const rule = windowRule(`claim:client:${clientKey(ip)}`, TOKEN_MISSES_PER_MINUTE, 60_000);
    let hit: TokenHit | undefined;
    // SQLite files: the row and the client's counter come in one statement (recipients-repo.ts);
    // `false` until then (the limiter reads the counter itself).
    let counter: { count: number; reset_at: number } | undefined | false = false;
    if (typeof token === 'string' && token.length >= 1 && token.length <= MAX_LEGACY_TOKEN) {
      const hash = hashToken(token);
      const both = recipients.findByTokenHashWithCounter;
      if (both) {
        const r = both(hash, counterKey(rule));
        hit = r?.hit;
        counter = r?.counter;
      } else hit = await recipients.findByTokenHash(hash);
    }
    if (!hit) {
      const r = await limiter.reserve([rule]);
      if (!r.ok) throw refuse(r.retryAfterMs);
      throw tokenInvalid();
    }
    const wait = counter === false ? await limiter.exhausted(rule) : limiter.exhaustedBy(rule, counter);
    if (wait > 0) throw refuse(wait);
    return hit;
  }

  /** Validates a name (trimmed, NFC, <= 100 chars, drawable by the fonts) or throws code 1 / 422. */
  function validName(name: unknown): string {
    if (typeof name !== 'string')
      throw new CertError(1, 'name_refused', 'name missing: give the name to print on the certificate', 422, { reason: 'empty' });
    const r = checkName(name);
    if (!r.ok) throw new CertError(1, 'name_refused', r.message, 422, { reason: r.reason, chars: r.chars });
    // Markup and code punctuation is no part of a name: refuse it rather than print it. Its own
    // reason, so the page does not blame the font (which can draw these characters).
    const odd = [...new Set(r.name.match(MARKUP_CHARS) ?? [])];
    if (odd.length)
      throw new CertError(
        1,
        'name_refused',
        `these characters are not part of a name: ${odd.join(' ')}; please write the name without them`,
        422,
        { reason: 'markup_chars', chars: odd },
      );
    return r.name;
  }

  async function submit(token: unknown, name: unknown, ip: string): Promise<RecipientRow> {
    const hit = await lookup(token, ip);
    if (hit.status >= 2) throw deliveryState(hit);
    const clean = validName(name);
    const t = now();
    const written = await db.transaction().execute(async (trx) => {
      const cur = await recipients.findById(hit.id, trx);
      if (!cur || cur.status >= 2) return undefined;
      // The credential this claim issues: the one held already when nothing printed changes, else a new one.
      const plan = await planClaim(issued, cur, clean, t, trx);
      const row = await recipients.submitName(hit.id, clean, plan.publicId, plan.issuedAt, t, trx);
      if (!row) return undefined;
      await plan.commit();
      await jobs.enqueue(DELIVER_KIND, { recipientId: hit.id }, { trx, singletonKey: `${DELIVER_KIND}:${hit.id}` });
      return row;
    });
    if (!written) {
      const again = await recipients.findById(hit.id);
      throw again ? deliveryState(again) : alreadySent();
    }
    certMetrics.claims.inc();
    // The job written in the transaction is taken up right at its commit (JobStore.wakesAtCommit):
    // no second enqueue, no timer (each was a write or a claim per certificate). The row is the
    // one the claim's UPDATE answered: nothing else writes it in that transaction.
    return written;
  }

  /** Reserves one full-size render for a public caller (see FILES_PER_*), or throws 429. */
  async function reserveFile(subject: string, ip: string): Promise<void> {
    const allowed = await limiter.reserve([
      windowRule(`cert.file:${subject}`, FILES_PER_CERTIFICATE.limit, FILES_PER_CERTIFICATE.windowMs),
      windowRule(`cert.file.client:${clientKey(ip)}`, FILES_PER_CLIENT.limit, FILES_PER_CLIENT.windowMs),
    ]);
    if (!allowed.ok)
      throw new RateLimitedError(allowed.retryAfterMs, 'too many certificate downloads; try again in a few minutes', 'rate_limited');
  }

  /** The volunteer's certificate file, rendered from their credential with the credential baked in. */
  async function certificateFile(r: RecipientRow, campaign?: CampaignRow) {
    if (!r.name || r.status < 2 || r.issued_at === null) throw notFound('certificate');
    let l = await credentials.current(r, campaign);
    if (!l) {
      // A volunteer set to 2+ without a claim (data.json import, reset): write their credential first.
      await ensureIssued(issued, r, now(), db);
      l = await credentials.current(r, campaign);
    }
    if (!l) throw notFound('certificate');
    const f = await credentials.file(l);
    return { ...f, filename: `certificate-${(r.number ?? String(r.id)).replace(/[^\w.-]+/g, '_')}.${f.format}` };
  }

  /**
   * What a claimed volunteer is told (seed codes): 3 once the certificate mail went out (status 4),
   * 3 "being made and mailed" while it is on its way, 4 when it failed (and is being retried; a
   * permanent failure waits for the organizer's retry).
   */
  function deliveryState(r: { status: number; failure: string | null }): CertError {
    if (r.status >= 4) return alreadySent();
    if (r.failure) {
      return new CertError(
        4,
        'delivery_failed',
        `the certificate mail could not be delivered yet (${r.failure.slice(0, 300)}); it is being retried, no need to submit again`,
        409,
        { delivery: 'failed' },
      );
    }
    return new CertError(3, 'being_sent', 'the name is saved; the certificate is being made and mailed', 409, { delivery: 'sending' });
  }

  /**
   * A failed certificate mail: the reason is written on the volunteer at once (query, console and
   * the volunteer see it while it is retried). The SMTP server out of reach (connection-level) is
   * retried without end, with backoff (MAIL_RETRY_MS doubling to MAIL_PROBE_MAX_MS); a refusal
   * of this recipient for now (4xx) spends an attempt; 5xx fails for good.
   */
  async function noteFailure(r: RecipientRow, err: unknown): Promise<never> {
    const reason = (err as Error)?.message ?? String(err);
    const attempts = await recipients.noteDeliveryFailure(r.id, `certificate not delivered: ${reason}`, now()).catch(() => r.attempts + 1);
    if (err instanceof TemporaryMailError && err.scope === 'connection') {
      throw new RetryLater(reason, retryBackoffMs(attempts, retryCfg.firstMs, retryCfg.probeMaxMs));
    }
    throw err;
  }

  /** The deliver job: render (2 -> 3), mail with the certificate attached (-> 4). */
  async function deliver(payload: { recipientId: number }, _ctx: JobContext): Promise<void> {
    const r = await recipients.findById(payload.recipientId);
    if (!r || r.status < 2 || r.status >= 4) return;
    const c = await campaigns.find(r.campaign_id);
    if (!c) return;
    // V8's own heap growing while certificates are delivered: under --optimize-for-size a claim's
    // garbage costs a quarter of its CPU (heap-mode.ts).
    preferSpeed();
    let file;
    try {
      file = await certificateFile(r, c);
    } catch (err) {
      if (err instanceof ImageRejected) throw new PermanentJobError(`rendering failed: ${err.message}`);
      throw err;
    }
    if (r.status === 2) await recipients.setStatus(r.id, 3, now());
    const verify = verifyUrl(r.certificate_id);
    const m = frameNotice(
      renderMail(CERTIFICATE_SUBJECT, CERTIFICATE_BODY, {
        name: r.name,
        email: r.email,
        organization: c.organization || c.name,
        website: c.website,
        number: r.number,
        verify,
      }),
      { organization: c.organization || c.name, link: verify ?? config.publicUrl, website: c.website },
    );
    const smtp = campaignsSvc.smtpFor(c);
    const n = r.cert_count + 1;
    const mail: OutgoingMail & { pacing?: { key: string; ratePerSec?: number; dailyLimit?: number } } = {
      to: r.email,
      ...m,
      messageId: `<certificate.${r.id}.${n}@${host}>`,
      attachments: [{ filename: file.filename, content: file.bytes, contentType: file.contentType }],
      smtp,
      // The campaign's sender and DKIM; no List-Unsubscribe: the volunteer asked for this one (an unsubscribe never stops it).
      ...(await sender.identity(c, smtp)),
      pacing: { key: `campaign:${c.id}`, ratePerSec: c.rate_per_sec ?? undefined, dailyLimit: c.daily_limit ?? undefined },
    };
    try {
      await mailer.send(mail);
    } catch (err) {
      if (err instanceof RetryLater) throw err;
      await noteFailure(r, err);
    }
    certMetrics.delivered.inc();
    // Accepted: the bookkeeping is retried, never the send (a crash before it: the rare repeat, same Message-ID).
    for (let i = 0; ; i++) {
      try {
        await recipients.setStatus(r.id, 4, now(), { cert_count: n, attempts: 0 });
        return;
      } catch (err) {
        if (i >= 10) throw err;
        await new Promise((res) => setTimeout(res, Math.min(100 * 2 ** i, 3000)));
      }
    }
  }

  jobs.define<{ recipientId: number }>(DELIVER_KIND, {
    handler: deliver,
    concurrency: 8,
    maxAttempts: retryCfg.attempts,
    backoffMs: (n) => retryBackoffMs(n, retryCfg.firstMs, retryCfg.maxMs),
    onFailed: async (p, err) => {
      await recipients.markFailed(p.recipientId, `certificate not delivered: ${err.message} (retry from the console or the API)`, now());
    },
  });

  return {
    /** Re-enqueues deliveries of volunteers left at 2 or 3 (a lost job, a restored backup); singletons make it harmless. */
    async recover(): Promise<void> {
      for (const { id } of await recipients.awaitingDelivery(1000)) {
        await jobs.enqueue(DELIVER_KIND, { recipientId: id }, { singletonKey: `${DELIVER_KIND}:${id}` });
      }
    },
    lookup,
    deliveryState,
    validName,
    submit,
    certificateFile,
    verifyUrl,
    /** What the claim page shows for a link. */
    async claimInfo(token: unknown, ip: string) {
      const hit = await lookup(token, ip);
      const r = (await recipients.findById(hit.id))!;
      const c = (await campaigns.find(r.campaign_id))!;
      const claimed = r.status >= 2;
      const delivery: 'sent' | 'failed' | 'sending' | null = !claimed ? null : r.status >= 4 ? 'sent' : r.failure ? 'failed' : 'sending';
      return {
        // (Addition) Where the certificate mail is: the truth for the claim page.
        delivery,
        ...(claimed && r.status < 4 && r.failure ? { deliveryFailure: r.failure } : {}),
        email: r.email,
        name: r.name ?? '',
        // The number printed on the certificate (the organizer's), which is not the verification id.
        number: r.number,
        status: r.status,
        claimed,
        organization: c.organization,
        campaignName: c.name,
        ...(r.certificate_id ? { certificateId: r.certificate_id } : {}),
        ...(claimed
          ? { downloadUrl: `${config.publicUrl}/api/v2/certificates/claim/download?token=${encodeURIComponent(String(token))}` }
          : {}),
      };
    },
    /**
     * A preview of the volunteer's certificate with a name not yet submitted: a JPEG of at most
     * CLAIM_PREVIEW's pixels, 400x566 for an A4 portrait page (the template's scaled copy is
     * cached, the texts are drawn at that size and the JPEG is encoded on libuv's threads),
     * cached by what it shows, and limited per link and per client before any of that work.
     */
    async claimPreview(token: unknown, name: unknown, ip: string) {
      const hit = await lookup(token, ip);
      const clean = validName(name);
      const allowed = await limiter.reserve([
        windowRule(`claim.preview:${hit.id}`, PREVIEWS_PER_LINK.limit, PREVIEWS_PER_LINK.windowMs),
        windowRule(`claim.preview.client:${clientKey(ip)}`, PREVIEWS_PER_CLIENT.limit, PREVIEWS_PER_CLIENT.windowMs),
      ]);
      if (!allowed.ok)
        throw new RateLimitedError(allowed.retryAfterMs, 'too many previews; wait a few minutes, or submit the name', 'rate_limited');
      const r = (await recipients.findById(hit.id))!;
      const c = (await campaigns.find(r.campaign_id))!;
      return renderer.preview(
        {
          campaign: c,
          name: clean,
          number: r.number,
          issuedAt: r.issued_at ?? now(),
          fields: parseFieldValues(r.fields),
          verifyUrl: previewVerifyUrl(r.certificate_id),
        },
        CLAIM_PREVIEW,
      );
    },
    async download(token: unknown, ip: string) {
      const hit = await lookup(token, ip);
      const r = (await recipients.findById(hit.id))!;
      if (r.status < 2) throw new CertError(1, 'not_claimed', 'submit the name first; the certificate is made from it', 409);
      await reserveFile(`recipient:${r.id}`, ip);
      return certificateFile(r);
    },
    reserveFile,
    /** What the verification JSON says (404 for an unknown id; a revoked one says so). */
    verify: (certId: string) => credentials.view(certId),
  };
}

export type Claims = ReturnType<typeof createClaims>;
