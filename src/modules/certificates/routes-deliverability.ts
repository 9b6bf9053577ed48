/**
 * Organizer routes of deliverability (v2, admin token): DKIM keys per sender domain with the DNS
 * record to publish and a DNS check, the blocklist of hard-bounced addresses, reading a
 * campaign's bounce mailbox now. Registered inside the v2 admin scope (routes-v2.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CertError } from './errors.js';
import { idParams } from './schemas.js';
import type { Services } from './services.js';

const P = '/api/v2/certificates';

const dkimRecord = z.object({
  name: z.string().describe('e.g. vh2026._domainkey.example.org'),
  type: z.literal('TXT'),
  value: z.string().describe('v=DKIM1; k=rsa; p=...'),
});
const dkimKey = z.object({
  domain: z.string(),
  selector: z.string(),
  source: z.enum(['console', 'environment']),
  record: dkimRecord,
  updatedAt: z.number(),
});
const domainParams = z.object({ domain: z.string().min(1).max(253) });

export function registerDeliverabilityRoutes(scope: FastifyInstance, svc: Services): void {
  const rr = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (v2, organizer): deliverability'];
  const security = [{ adminToken: [] }];
  const s = <T extends object>(o: T) => ({ tags, security, ...o });
  const d = svc.deliverability;

  rr.get(
    `${P}/dkim`,
    {
      schema: s({
        summary: 'DKIM keys per sender domain (set here or by DKIM_* variables) with the DNS TXT record to publish',
        response: { 200: z.object({ items: z.array(dkimKey) }) },
      }),
    },
    async () => ({ items: await d.dkimList() }),
  );

  rr.put(
    `${P}/dkim/:domain`,
    {
      schema: s({
        summary:
          'Sets the DKIM selector and private key of a sender domain (a new 2048-bit RSA key when privateKey is left out); the key is stored sealed and never shown again',
        params: domainParams,
        body: z
          .object({
            selector: z.string().min(1).max(63),
            privateKey: z.string().max(20_000).optional().describe('PEM (PKCS#1 or PKCS#8), RSA >= 1024 bits'),
          })
          .strict(),
        response: { 200: dkimKey },
      }),
    },
    async (req) => d.putDkim(req.params.domain, req.body.selector, req.body.privateKey),
  );

  rr.delete(
    `${P}/dkim/:domain`,
    {
      schema: s({
        summary: "Removes a domain's console DKIM key (mail from it goes unsigned, or signed with the DKIM_* key)",
        params: domainParams,
        response: { 200: z.object({ ok: z.literal(true) }) },
      }),
    },
    async (req) => {
      await d.deleteDkim(req.params.domain);
      return { ok: true as const };
    },
  );

  rr.post(
    `${P}/dkim/:domain/check`,
    {
      schema: s({
        summary: 'Looks the DKIM record up in DNS: published (our key), different_key, absent, or unreachable (no DNS from here)',
        params: domainParams,
        response: {
          200: z.object({
            domain: z.string(),
            record: dkimRecord,
            state: z.enum(['published', 'different_key', 'absent', 'unreachable']),
            found: z.array(z.string()),
            error: z.string().optional(),
          }),
        },
      }),
    },
    async (req) => d.checkDkim(req.params.domain),
  );

  rr.get(
    `${P}/blocklist`,
    {
      schema: s({
        summary: 'Addresses no campaign mails (hard bounces), newest first; q = part of the address',
        querystring: z.object({
          q: z.string().max(320).optional(),
          page: z.coerce.number().int().min(1).max(100_000).default(1),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                email: z.string(),
                reason: z.string(),
                campaignId: z.number().nullable(),
                messageId: z.string().nullable(),
                createdAt: z.number(),
              }),
            ),
            total: z.number(),
          }),
        },
      }),
    },
    async (req) => d.repo.listBlocked({ q: req.query.q, limit: req.query.limit, offset: (req.query.page - 1) * req.query.limit }),
  );

  rr.delete(
    `${P}/blocklist/:email`,
    {
      schema: s({
        summary: 'Clears an address from the blocklist: later sends mail it again (a resend or reset of the volunteer clears their bounce)',
        params: z.object({ email: z.string().min(3).max(320) }),
        response: { 200: z.object({ ok: z.literal(true) }) },
      }),
    },
    async (req) => {
      if (!(await d.repo.unblock(req.params.email))) throw new CertError(1, 'not_found', 'this address is not on the blocklist', 404);
      return { ok: true as const };
    },
  );

  rr.post(
    `${P}/campaigns/:id/bounces/check`,
    {
      schema: s({
        summary:
          "Reads the campaign's bounce mailbox now (also done every BOUNCE_POLL_SECONDS): delivery reports are matched to notices by Message-ID. " +
          'One reader at a time across the fleet: 409 `mailbox_busy` while another read of the same mailbox is in progress; 409 `no_bounce_mailbox` when none is set; 502 `imap_error` when it cannot be read',
        params: idParams,
        response: {
          200: z.object({ read: z.number(), hard: z.number(), soft: z.number(), unmatched: z.number(), unsubscribed: z.number() }),
        },
      }),
    },
    async (req) => svc.bounces.check(await svc.campaign.resolve(req.params.id)),
  );
}
