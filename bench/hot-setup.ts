/**
 * The service setup the hot-path benches and tools share (issue 15): hotpaths.bench.ts and the
 * service tools/hot-serve.ts starts from it, the rung ladders hot-ladder.ts and webhook-ladder.ts,
 * and the auto-reply accounts and messages of autoreply.bench.ts. Loads nothing of the service
 * when imported (only node's modules), so that a bench's service can call `likeServe()` before
 * the service's code loads, as main.ts does.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../src/config.js';
import type { Core } from '../src/platform/core.js';

/** What `npm start`'s entry (main.ts) does before anything else loads: the heap settings, the tick shape. */
export async function likeServe(): Promise<void> {
  const { manageHeap } = await import('../src/platform/heap-mode.js');
  manageHeap();
  await import('../src/platform/tick-shape.js');
}

/** The environment of a hot bench's service built in its own process (default settings). */
export function hotServiceEnv(dataDir: string, more: Record<string, string> = {}): Record<string, string> {
  return { DATA_DIR: dataDir, PORT: '0', PUBLIC_URL: 'http://bench.test', ADMIN_TOKEN: 'hot-bench-admin-token', ...more };
}

/** Deterministic secrets, so that the load generator and the service agree without shipping them. */
export const tokenOf = (kind: string, i: number) => createHash('sha256').update(`hot-bench-${kind}-${i}`).digest('base64url');
export const openidOf = (i: number) => `oBench${String(i).padStart(22, '0')}`;

/** Fixed width, so that message length (and so matching work) does not grow with the rule count. */
const id5 = (i: number) => String(i).padStart(5, '0');

/** Rule i: an "equal" keyword kw<i>; every third rule also a "contains" keyword 词<i>号. */
export function ruleInputs(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    keywords:
      i % 3 === 0
        ? [
            { text: `kw${id5(i)}`, match: 'equal' as const },
            { text: `词${id5(i)}号`, match: 'contains' as const },
          ]
        : [{ text: `kw${id5(i)}`, match: 'equal' as const }],
    replies: [`回复 ${i}：感谢您的留言，我们会尽快处理。`],
    mode: 'all' as const,
  }));
}

/** One message text for an account with `n` rules: 50% an equal keyword, 30% contains inside a sentence, 20% nothing (the default reply). */
export function messageText(n: number): string {
  const r = Math.random();
  const i = Math.floor(Math.random() * n);
  if (r < 0.5) return `kw${id5(i)}`;
  if (r < 0.8) return `您好，请问 词${id5(i - (i % 3))}号 的情况怎么样了？`;
  return `随便聊聊 ${Math.floor(Math.random() * 1e6)}`;
}

/** How many followers the messages come from (each one's default reply is at most hourly). */
export const FOLLOWERS = 10_000;

/** A text message as WeChat sends one to an account with `rules` rules: from a random follower, with its own MsgId. */
export function textMessage(rules: number, msgId: bigint, now: number) {
  return {
    ToUserName: 'gh_bench',
    FromUserName: `oFollower${Math.floor(Math.random() * FOLLOWERS)}`,
    CreateTime: Math.floor(now / 1000),
    MsgType: 'text',
    Content: messageText(rules),
    MsgId: String(msgId),
  };
}

/** An official account of a bench, as connected and seeded. */
export interface WebhookAccount {
  appid: string;
  token: string;
  aesKey: string | null;
  rules: number;
  /** The callback's path (its URL's pathname). */
  path: string;
}

/**
 * The accounts connected by one member (`bench_owner`), each with `rules` rules (ruleInputs) and
 * a default reply. Connecting proves the appid and secret with WeChat: the core's
 * WECHAT_API_BASE must answer (lib.ts `startBenchWechat`).
 */
export async function seedWebhookAccounts(core: Core, specs: readonly Omit<WebhookAccount, 'path'>[]): Promise<WebhookAccount[]> {
  const { createAutoreply } = await import('../src/modules/autoreply/index.js');
  const { createAccountsService } = await import('../src/modules/accounts/index.js');
  const ar = createAutoreply(core);
  const owner = await createAccountsService({ db: core.db, dialect: core.dialect, now: Date.now }).createUser({
    username: 'bench_owner',
    password: 'correct horse battery',
    isActive: true,
  });
  const out: WebhookAccount[] = [];
  for (const s of specs) {
    const view = await ar.mpAccounts.create(owner.id, {
      appid: s.appid,
      secret: 'benchsecret0000000000001',
      token: s.token,
      aes_key: s.aesKey,
    });
    const setId = await ar.mpAccounts.ruleSetOf(owner.id, view.id);
    const inputs = ruleInputs(s.rules);
    for (let i = 0; i < inputs.length; i += 5000) await ar.rules.importRules(setId, inputs.slice(i, i + 5000), false);
    await ar.rules.settings(setId, { defaultReply: '您好，您的消息已收到，稍后回复您。' });
    out.push({ ...s, path: new URL(view.callbackUrl).pathname });
  }
  return out;
}

/**
 * Writes `n` plain-mode messages to the account (1,000 rules) as wrk request lines (wrkLua's
 * format), freshly signed (a signature's timestamp must be recent), MsgIds counted on from
 * `msgIds.last`.
 */
export async function writeWebhookRequests(
  file: string,
  account: { appid: string; token: string; path: string },
  n: number,
  msgIds: { last: bigint },
): Promise<void> {
  const { buildInbound } = await import('../src/platform/wechat/callback.js');
  const now = Date.now();
  const lines: string[] = [];
  for (let k = 0; k < n; k++) {
    const { query, body } = buildInbound(account, textMessage(1000, ++msgIds.last, now), now, false);
    lines.push(`POST\t${account.path}?${new URLSearchParams(query)}\ttext/xml\t${body.replace(/[\t\n]/g, ' ')}`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

/** A getUserInfo request line for volunteer i's link token (the hotpaths service gives 20,000 of them). */
export const getUserInfoLine = (i: number) => `GET\t/api/getUserInfo?token=${tokenOf('cert', i)}\t\t`;
/** A mini-program `get` request line for user i (the hotpaths service seeds 100,000). */
export const miniprogramGetLine = (i: number) =>
  `POST\t/service/user/get\tapplication/json\t${JSON.stringify({ openid: openidOf(i), token: tokenOf('mp', i) })}`;

/**
 * The wrk script: requests are read from a file (one JSON-free record per line: method, path,
 * content-type, body separated by tabs), each thread taking every other line from its own start,
 * so no two requests of a run repeat while the file lasts; the file is read before the run's clock
 * starts. done() prints the figures as JSON.
 */
export const WRK_LUA = `
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local reqs = nil
local i = 0
local function load()
  reqs = {}
  local n = 0
  local nthreads = tonumber(os.getenv("WRK_THREADS"))
  for line in io.lines(os.getenv("WRK_REQS")) do
    if n % nthreads == tid then
      local m, p, t, b = line:match("^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(.*)$")
      local h = {}
      if t ~= "" then h["Content-Type"] = t end
      if b == "" then b = nil end
      table.insert(reqs, wrk.format(m, p, h, b))
    end
    n = n + 1
  end
end
-- Read in init(), which wrk runs for each thread before its clock starts (and before it calls
-- request() at all): read in the first request(), 400,000 webhook messages took each thread
-- ~1.3 s of a 4 s run.
function init(args)
  load()
end
function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"errors":%d,"non2xx":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

/**
 * Fastify with app.ts's server options for a rung of the ladders (hot-ladder.ts, webhook-ladder.ts),
 * each piece one of `pieces`: `log` our logger with the access log (`noline`: without its line),
 * `logonly` our logger without the access log, `id` request ids from `genReqId`, `rewrite` the
 * malformed-path escape, `misc` trustProxy, the body limit and the zod compilers' factories.
 * req.log is made lazy and zod's compilers are set, as app.ts does.
 */
export async function ladderFastify(core: Core, pieces: readonly string[], genReqId: () => string): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  const { trustProxyOption, BODY_LIMIT } = await import('../src/app.js');
  const { AccessLog, makeRequestLoggersLazy } = await import('../src/platform/http/access-log.js');
  const { escapeMalformedPath } = await import('../src/platform/http/safe-url.js');
  const { serializerCompiler, validatorCompiler } = await import('fastify-type-provider-zod');
  const accessLog = new AccessLog(core.logger);
  if (pieces.includes('noline')) (accessLog as any).requestCompleted = () => {};
  const app = Fastify({
    ...(pieces.includes('log') ? { loggerInstance: core.logger as any, logController: accessLog } : {}),
    ...(pieces.includes('logonly') ? { loggerInstance: core.logger as any, disableRequestLogging: true } : {}),
    ...(pieces.includes('id') ? { requestIdHeader: 'x-request-id', genReqId } : {}),
    ...(pieces.includes('rewrite') ? { rewriteUrl: (req: any) => escapeMalformedPath(req.url ?? '/') } : {}),
    ...(pieces.includes('misc')
      ? {
          bodyLimit: BODY_LIMIT,
          trustProxy: trustProxyOption(core.config.trustProxy),
          return503OnClosing: false,
          schemaController: {
            compilersFactory: { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler } as any,
          },
        }
      : {}),
  } as any) as unknown as FastifyInstance;
  if (pieces.includes('log') || pieces.includes('logonly')) makeRequestLoggersLazy(app.log);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  return app;
}

/** The app's draining and origins hooks (app.ts), for a ladder's rung. */
export async function ladderHooks(app: FastifyInstance, config: Config): Promise<void> {
  const { modules } = await import('../src/app.js');
  const { registerDraining } = await import('../src/platform/http/draining.js');
  const { createOriginPolicy, registerOrigins } = await import('../src/platform/http/origins.js');
  registerDraining(app);
  await registerOrigins(
    app,
    createOriginPolicy(
      config,
      modules.map((m) => m.routeGroups ?? {}),
    ),
  );
}

/** A ladder's rung listening on loopback: prints "PORT <port> PID <pid>" on stderr; SIGTERM ends it. */
export async function listenForLadder(app: FastifyInstance): Promise<void> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.error(`PORT ${(app.server.address() as { port: number }).port} PID ${process.pid}`);
  process.on('SIGTERM', () => process.exit(0));
}
