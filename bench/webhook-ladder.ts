/**
 * The webhook's rung ladder (issue 15, bench/README.md "Hot paths, a ninth pass: the webhook"):
 * one server per rung, each adding one piece of ours to a bare Fastify route answering the same
 * XML, counted by callgrind instructions per message (bench/tools/webhook-count.sh runs a rung so).
 * Not run by `npm run bench`.
 *
 *   SEED=1 DATA_DIR=<empty dir> node --import tsx bench/webhook-ladder.ts   (the account, 1,000 rules)
 *   RUNG=0..5 DATA_DIR=<a copy of it> node --import tsx bench/webhook-ladder.ts > access.log
 *   (LADDER_LOG_LEVEL=warn: the rung without its access lines)
 *   (prints "PORT <port> PID <pid>" on stderr)
 *   GEN=1 DATA_DIR=<it> OUT=<dir> [N=30000] node --import tsx bench/webhook-ladder.ts
 *   (writes <OUT>/webhook.tsv: N freshly signed messages, valid for 300 s)
 *
 * 0 bare Fastify (a string body parser) answering a sample reply's bytes, as the hotpaths floor;
 * 1 + our Fastify options, hooks, the callback scope (envelope, our XML body parser) and the real
 *   route with its zod schemas, answering the same bytes;
 * 2 + the account's lookup and openMessage (timestamp, signature, XML reader);
 * 3 + the rule sets (matcher cache) and the match, the reply built from the matched rule (or the
 *   default reply) by answerBody;
 * 4 + the rest of the real receive (webhook-service.ts: the default-reply time's read, the dedupe
 *   group commit): the real service in this app;
 * 5 the whole app (buildApp).
 * The messages are the hotpaths bench's: 50% `equal` hits, 30% `contains`, 20% nothing matched.
 */
import Fastify from 'fastify';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  hotServiceEnv,
  ladderFastify,
  ladderHooks,
  likeServe,
  listenForLadder,
  seedWebhookAccounts,
  writeWebhookRequests,
} from './hot-setup.js';

const RUNG = Number(process.env.RUNG);
const DATA_DIR = process.env.DATA_DIR!;
await likeServe();
const { parseConfig } = await import('../src/config.js');
const { createAppCore } = await import('../src/app.js');
const env = hotServiceEnv(DATA_DIR, { LOG_LEVEL: process.env.LADDER_LOG_LEVEL ?? 'info', LOG_FORMAT: 'json' });
const metaFile = join(DATA_DIR, 'webhook-ladder.json');

if (process.env.SEED) {
  const { startBenchWechat } = await import('./lib.js');
  const wechat = await startBenchWechat();
  const core = await createAppCore(parseConfig({ ...env, WECHAT_API_BASE: wechat.url }));
  // The hotpaths bench's account and rules.
  const [account] = await seedWebhookAccounts(core, [{ appid: 'wxhotbenchplain01', token: 'tokhotbench1', aesKey: null, rules: 1000 }]);
  core.handle.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
  await core.close();
  await wechat.close();
  writeFileSync(metaFile, JSON.stringify({ path: account!.path, token: account!.token }));
  process.exit(0);
}

const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { path: string; token: string };
if (process.env.GEN) {
  // The hotpaths bench's message mix, freshly signed (a signature's timestamp must be recent).
  await writeWebhookRequests(
    join(process.env.OUT ?? '/tmp', 'webhook.tsv'),
    { appid: 'wxhotbenchplain01', token: meta.token, path: meta.path },
    Number(process.env.N ?? 30_000),
    { last: 7_000_000_000_000_000_000n + BigInt(Date.now()) * 1000n },
  );
  process.exit(0);
}
// What the service answers an `equal` hit (the floor answers these bytes to every message).
const sample = `<xml><ToUserName><![CDATA[oFollower1]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[回复 3：感谢您的留言，我们会尽快处理。]]></Content></xml>`;

let app: any;
if (RUNG === 0) {
  app = Fastify();
  app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_req: any, body: string, done: any) =>
    done(null, body),
  );
  app.post(meta.path, async (_req: any, reply: any) => reply.type('application/xml').send(sample));
} else if (RUNG >= 5) {
  const { buildApp } = await import('../src/app.js');
  app = await buildApp(await createAppCore(parseConfig(env)));
} else {
  const { requestIds } = await import('../src/platform/http/request-id.js');
  const { createAutoreply } = await import('../src/modules/autoreply/index.js');
  const { installEnvelope } = await import('../src/modules/autoreply/http.js');
  const { registerCallbackRoutes } = await import('../src/modules/autoreply/routes-callback.js');
  const { MAX_XML_BYTES } = await import('../src/platform/wechat/xml.js');
  const { openMessage } = await import('../src/platform/wechat/callback.js');
  const { answerBody, textReplies } = await import('../src/modules/autoreply/webhook-common.js');
  const config = parseConfig(env);
  const core = await createAppCore(config);
  // As app.ts (request-id.ts since hot9b; the counts in bench/README.md's ninth pass had
  // randomUUID, as a2aae7b's app).
  app = await ladderFastify(core, ['log', 'id', 'rewrite', 'misc'], requestIds());
  await ladderHooks(app, config);
  const ar = createAutoreply(core);
  const fixed = { status: 200, contentType: 'application/xml', body: sample };
  const staged = {
    verify: ar.webhook.verify,
    async receive(callbackId: string, query: Record<string, string>, body: string) {
      if (RUNG === 1) return fixed;
      const acc = (await ar.mpAccounts.byCallbackId(callbackId))!;
      const f = openMessage(acc, query, body, Date.now()).fields;
      if (RUNG === 2) return fixed;
      const [own, member] = await ar.cache.get([acc.ruleSetId, acc.memberSetId]);
      const rule = own!.matcher.match(f.Content!) ?? member!.matcher.match(f.Content!);
      const replies = rule ? rule.replies : textReplies([own!.defaultReply!]);
      return answerBody(acc, f, { t: Math.floor(Date.now() / 1000), replies }, false, Date.now());
    },
  };
  await app.register(async (scope: any) => {
    installEnvelope(scope);
    scope.addContentTypeParser(
      ['text/xml', 'application/xml', 'text/plain'],
      { parseAs: 'string', bodyLimit: MAX_XML_BYTES },
      (_req: any, body: string, done: any) => done(null, body),
    );
    registerCallbackRoutes(scope, { webhook: RUNG >= 4 ? ar.webhook : (staged as any), platform: {} as any });
  });
}

await listenForLadder(app);
