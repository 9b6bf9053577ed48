/**
 * The autoreply module (seed 002): see README.md in this folder for its API and invariants.
 * Builds the services from the core and registers every route in one encapsulated plugin with
 * the module's envelope.
 */
import type { FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { Core } from '../../platform/core.js';
import type { AppModule } from '../../platform/http/module.js';
import { migrations } from './migrations.js';
import { loadSecretKey } from '../../platform/crypto/secretbox.js';
import { createAccessTokens } from '../../platform/wechat/access-token.js';
import { createMpApi, type MpApi } from '../../platform/wechat/mp-api.js';
import { MAX_XML_BYTES } from '../../platform/wechat/xml.js';
import { createAccountsService, createSignIn } from '../accounts/index.js';
import { createAttemptLimiter } from '../../platform/limits/attempts.js';
import { createRulesRepo } from './rules-repo.js';
import { createWechatRepo } from './wechat-repo.js';
import { createMatcherCache } from './matcher-cache.js';
import { createRulesService } from './rules-service.js';
import { createMpAccountsService } from './mp-accounts-service.js';
import { createWebhookService } from './webhook-service.js';
import { createHasher, createPlatformService } from './platform-service.js';
import { createMembersService } from './members-service.js';
import { createTokenStore } from './token-store.js';
import { defineExtraReplies } from './extra-replies.js';
import { installEnvelope } from './http.js';
import { registerSeedRoutes } from './routes-seed.js';
import { registerCallbackRoutes } from './routes-callback.js';
import { registerApiRoutes } from './routes-v2.js';
import { registerAutoreplyCli } from './cli.js';

/** Builds every autoreply service on a core (the HTTP plugin and the CLI both use this). */
export function createAutoreply(core: Core, opts: { api?: MpApi } = {}) {
  const { db, now, logger, config } = core;
  const rulesRepo = createRulesRepo(db);
  const repo = createWechatRepo(db, core.handle);
  const cache = createMatcherCache({ repo: rulesRepo, now });
  const rules = createRulesService({ db, repo: rulesRepo, cache, now, caps: config.autoreply });
  const http = { apiBase: config.wechat.apiBase, timeoutMs: config.wechat.timeoutMs };
  const tokens = createAccessTokens({ http, store: createTokenStore(repo, core.secrets), now });
  const api = opts.api ?? createMpApi(http, tokens);
  const accounts = createAccountsService({ db, dialect: core.dialect, now });
  const hash = createHasher(loadSecretKey(config.dataDir, config.secretKey));
  const mp = config.wechat.mp;
  const platformAccount = config.isMpConfigured ? { appid: mp.appid!, token: mp.token!, aesKey: mp.aesKey ?? null } : null;
  const mpAccounts = createMpAccountsService({
    db,
    repo,
    rulesRepo,
    cache,
    secrets: core.secrets,
    publicUrl: config.publicUrl,
    now,
    maxAccounts: config.autoreply.maxAccounts,
    prove: (appid, secret) => tokens.get(appid, secret),
  });
  const webhook = createWebhookService({ db, accounts: mpAccounts, cache, repo, jobs: core.jobs, now });
  const platform = createPlatformService({ db, hash, account: platformAccount, repo, rules, accounts, logger, now });
  const limiter = createAttemptLimiter({ db, now });
  const members = createMembersService({
    db,
    accounts,
    signIn: createSignIn({ db, now, limiter }),
    limiter,
    rules,
    repo,
    hash,
    api,
    mp: config.isMpConfigured ? { appid: mp.appid!, secret: mp.secret! } : null,
    logger,
    now,
  });
  return { rules, rulesRepo, repo, cache, mpAccounts, webhook, platform, members, api, tokens };
}

export type Autoreply = ReturnType<typeof createAutoreply>;

/** Deletes processed messages and codes past their use, every 10 minutes. */
function startHousekeeping(app: FastifyInstance, core: Core, ar: Autoreply): void {
  const timer = setInterval(() => {
    ar.repo.prune(core.now()).catch((err) => core.logger.warn({ err }, 'autoreply housekeeping failed'));
  }, 10 * 60_000);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}

export const autoreplyModule: AppModule = {
  name: 'autoreply',
  migrations,
  // The session is a cookie the browser adds by itself: only listed origins, and the cross-site check.
  routeGroups: { session: ['/account/', '/mongodb/', '/database/', '/wechat/testlogin', '/wechat/autoreply', '/api/v2/autoreply/'] },
  async register(app, core) {
    const ar = createAutoreply(core);
    defineExtraReplies({ jobs: core.jobs, api: ar.api, logger: core.logger, credentials: (id) => ar.mpAccounts.credentialsById(id) });
    const secureCookies = core.config.publicUrl.startsWith('https://');
    // WeChat's callbacks (the hot path) in a scope of their own: no cookie parsing or setting,
    // no form parser, on every message.
    await app.register(async (scope) => {
      installEnvelope(scope);
      // WeChat posts text/xml; anything else is read as text too and left to the XML checks.
      scope.addContentTypeParser(
        ['text/xml', 'application/xml', 'text/plain'],
        { parseAs: 'string', bodyLimit: MAX_XML_BYTES },
        (_req, body, done) => done(null, body),
      );
      registerCallbackRoutes(scope, { webhook: ar.webhook, platform: ar.platform });
    });
    await app.register(async (scope) => {
      installEnvelope(scope);
      await scope.register(cookie);
      await scope.register(formbody);
      scope.addContentTypeParser(
        ['text/xml', 'application/xml', 'text/plain'],
        { parseAs: 'string', bodyLimit: MAX_XML_BYTES },
        (_req, body, done) => done(null, body),
      );
      registerSeedRoutes(scope, ar.members, { publicUrl: core.config.publicUrl, secureCookies });
      registerApiRoutes(scope, {
        members: ar.members,
        rules: ar.rules,
        mpAccounts: ar.mpAccounts,
        publicUrl: core.config.publicUrl,
        platform: { name: core.config.wechat.mp.name ?? null, wechatId: core.config.wechat.mp.wechatId ?? null },
        now: core.now,
        // The simulator talks to this very app in-process: no network, no way to aim it elsewhere.
        transport: (callbackId) => async (query, body) => {
          const r = await app.inject({
            method: 'POST',
            url: `/wechat/callback/${callbackId}`,
            query,
            payload: body,
            headers: { 'content-type': 'text/xml' },
          });
          return { status: r.statusCode, body: r.body };
        },
      });
      startHousekeeping(scope, core, ar);
    });
  },
  cli: registerAutoreplyCli,
};
