/** The certificates module: see README.md in this folder for its API and invariants. */
import type { FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import type { Core } from '../../platform/core.js';
import type { AppModule } from '../../platform/http/module.js';
import { migrations } from './migrations.js';
import { useEnvelope } from '../../platform/http/envelope.js';
import { createAdminAuth, ensureAdminToken } from './admin-token.js';
import { badInput, CertError } from './errors.js';
import { registerSeedLookupRoute, registerSeedRoutes } from './routes-seed.js';
import { registerV2Routes } from './routes-v2.js';
import { registerClaimRoutes } from './routes-claim.js';
import { registerUnsubscribeRoutes } from './routes-unsubscribe.js';
import { registerCredentialRoutes } from './credentials/routes-public.js';
import { createServices } from './services.js';
import { registerCli } from './cli.js';
import { TEMPLATE_MAX_BYTES } from './upload.js';

/** How often the search indexer looks for rows another process (the CLI) imported. */
const SEARCH_INDEX_POLL_MS = 2000;

/** Prints a freshly generated admin token once, on stdout, in a line that is easy to find. */
async function announceAdminToken(core: Core): Promise<void> {
  const token = await ensureAdminToken(core.db, core.config.adminToken, core.now());
  if (token) {
    process.stdout.write(
      `\n*** volunteer-hub: generated the organizer (admin) token. It is shown ONCE and stored only as a hash:\n` +
        `*** ADMIN_TOKEN=${token}\n*** Keep it safe; set ADMIN_TOKEN to choose your own.\n\n`,
    );
  }
}

export const certificatesModule: AppModule = {
  name: 'certificates',
  migrations,
  // Link tokens and the admin token travel in the request; the claim page lived on the
  // community's own site, so these answer other origins. The verification JSON is public.
  routeGroups: {
    token: [
      '/api/getUserInfo',
      '/api/submitUserInfo',
      '/api/submitUserinfo',
      '/api/addUserData',
      '/api/uploadImage',
      '/api/updateOrgConfig',
      '/api/email',
      '/api/v2/certificates/',
      '/verify/',
    ],
  },
  async register(app: FastifyInstance, core: Core) {
    await announceAdminToken(core);
    const svc = createServices(core);
    const admin = createAdminAuth(core.db, core.config.adminToken, core.now);
    await svc.sending.recover();
    await svc.claims.recover();
    // Seed endpoints: HTTP 200, {code, data, message}.
    const seedEnvelope = (seed: FastifyInstance) =>
      useEnvelope(
        seed,
        (m) => badInput(m),
        ({ error, internal }) => ({
          status: 200,
          body: { code: internal ? 4 : error instanceof CertError ? error.seedCode : 1, data: null, message: error.message },
        }),
      );
    // getUserInfo, the volunteers' hot path, outside the scope of @fastify/multipart, which adds an
    // async onRequest hook (a 'close' listener) and an async onResponse hook (its temp-file
    // cleanup) to every request of its scope; a GET has no body for it to parse.
    await app.register(async (seed) => {
      seedEnvelope(seed);
      registerSeedLookupRoute(seed, svc);
    });
    await app.register(async (mod) => {
      await mod.register(multipart, { limits: { fileSize: TEMPLATE_MAX_BYTES, files: 1 } });
      await mod.register(async (seed) => {
        seedEnvelope(seed);
        registerSeedRoutes(seed, svc, admin);
      });
      // v2 REST API and the verification page: HTTP statuses, {code, message}.
      await mod.register(async (v2) => {
        useEnvelope(
          v2,
          (m) => badInput(m),
          ({ error }) => ({
            status: error.status,
            body: {
              code: error.code,
              message: error.message,
              ...(error.details && typeof error.details === 'object' ? error.details : {}),
            },
          }),
        );
        registerV2Routes(v2, svc, admin);
        registerClaimRoutes(v2, svc);
        registerCredentialRoutes(v2, svc);
      });
    });
    registerUnsubscribeRoutes(app, svc);
    // SQLite: new volunteers reach the search table in the background (search-indexer.ts); the
    // timer catches rows a CLI import wrote beside the server.
    const searchIndex = svc.deps.recipients.searchIndex;
    if (searchIndex) {
      searchIndex.start(SEARCH_INDEX_POLL_MS, (err) => core.logger.warn({ err }, 'search indexing failed'));
      app.addHook('onClose', async () => searchIndex.stop());
    }
    // Bounce mailboxes are read every BOUNCE_POLL_SECONDS (one pass at a time; never overlapping).
    if (core.config.bouncePollSeconds > 0) {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        svc.bounces
          .pollAll()
          .catch((err) => core.logger.warn({ err }, 'bounce poll failed'))
          .finally(() => (running = false));
      }, core.config.bouncePollSeconds * 1000);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  },
  cli: registerCli,
};
