/**
 * WeChat's webhooks: /wechat/callback (the platform account) and /wechat/callback/<id> (a
 * member's account). GET verifies (echostr), POST answers a message. Bodies are XML, read as
 * text up to 64 KB and parsed only by the hardened parser (platform/wechat/xml.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PlatformService } from './platform-service.js';
import type { WebhookService } from './webhook-service.js';
import type { WebhookAnswer } from './webhook-common.js';

const TAG = ['autoreply webhooks (called by WeChat)'];
const q = z
  .object({
    signature: z.string().max(100).optional(),
    timestamp: z.string().max(20).optional(),
    nonce: z.string().max(100).optional(),
    echostr: z.string().max(200).optional(),
    openid: z.string().max(100).optional(),
    encrypt_type: z.string().max(20).optional(),
    msg_signature: z.string().max(100).optional(),
  })
  .describe('signature/timestamp/nonce (+ encrypt_type=aes and msg_signature in safe mode) as WeChat sends them');
const body = z.string().describe('the message XML (plain, or <Encrypt> in safe mode)');
const params = z.object({ account: z.string().max(64) });
const plainText = (what: string) => z.string().describe(what);
/** Text answers (WeChat looks only at the status); the reply XML or `success` on 200. */
const answers = {
  200: plainText('the echostr (GET); the reply XML, or `success` when there is nothing to say (POST)'),
  400: plainText('malformed request or XML, DTD/entity refused'),
  401: plainText('wrong signature'),
  403: plainText('timestamp too old or ahead'),
  404: plainText('unknown callback (or the platform account is not configured)'),
  413: plainText('body over 64 KB'),
};

/**
 * Answers WeChat. A refusal (forged, stale, malformed, too deep or too large) is something a
 * caller on the internet can send at will: one warn line with the reason, never a stack.
 */
function send(req: FastifyRequest, reply: FastifyReply, a: WebhookAnswer) {
  if (a.status >= 400) req.log.warn({ status: a.status, reason: String(a.body).slice(0, 200) }, 'wechat callback refused');
  return reply.status(a.status).type(a.contentType).send(a.body);
}

export function registerCallbackRoutes(appIn: FastifyInstance, deps: { webhook: WebhookService; platform: PlatformService }): void {
  const app = appIn.withTypeProvider<ZodTypeProvider>();
  const asText = (b: unknown) => (typeof b === 'string' ? b : '');

  app.get(
    '/wechat/callback',
    { schema: { tags: TAG, summary: "Platform account: WeChat's URL verification", querystring: q, response: answers } },
    async (req, reply) => send(req, reply, await deps.platform.verify(req.query as Record<string, string>)),
  );
  app.post(
    '/wechat/callback',
    {
      schema: {
        tags: TAG,
        summary: 'Platform account: registration codes, scan to bind, rule commands',
        querystring: q,
        body: body.optional(),
        response: answers,
      },
    },
    async (req, reply) => send(req, reply, await deps.platform.receive(req.query as Record<string, string>, asText(req.body))),
  );
  app.get(
    '/wechat/callback/:account',
    {
      schema: {
        tags: TAG,
        summary: "A member's account: WeChat's URL verification (marks it verified)",
        params,
        querystring: q,
        response: answers,
      },
    },
    async (req, reply) => send(req, reply, await deps.webhook.verify(req.params.account, req.query as Record<string, string>)),
  );
  app.post(
    '/wechat/callback/:account',
    {
      schema: {
        tags: TAG,
        summary: "A member's account: a message or event, answered by its rules (plain or safe mode); `success` when nothing applies",
        params,
        querystring: q,
        body: body.optional(),
        response: answers,
      },
    },
    async (req, reply) =>
      send(req, reply, await deps.webhook.receive(req.params.account, req.query as Record<string, string>, asText(req.body))),
  );
}
