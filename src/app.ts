/**
 * The composition root: one Fastify app with the shared plugins, then each module's routes.
 * Small on purpose: modules own their routes, envelopes and jobs.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { createCore, type Core, type CoreOptions } from './platform/core.js';
import type { Config } from './config.js';
import type { AppModule } from './platform/http/module.js';
import { registerOps } from './platform/http/ops.js';
import { AccessLog, makeRequestLoggersLazy } from './platform/http/access-log.js';
import { registerDraining } from './platform/http/draining.js';
import { watchBusy } from './platform/heap-busy.js';
import { databaseUnavailableReason, ServiceUnavailableError } from './platform/http/errors.js';
import { registerWeb } from './platform/http/web.js';
import { escapeMalformedPath } from './platform/http/safe-url.js';
import { requestIds } from './platform/http/request-id.js';
import { createOriginPolicy, registerOrigins } from './platform/http/origins.js';
import { registerDevMailbox } from './platform/mail/routes-devmail.js';
import { certificatesModule } from './modules/certificates/index.js';
import { createAdminAuth } from './modules/certificates/admin-token.js';
import { accountsModule } from './modules/accounts/index.js';
import { miniprogramModule } from './modules/miniprogram/index.js';
import { autoreplyModule } from './modules/autoreply/index.js';

export const modules: AppModule[] = [certificatesModule, accountsModule, miniprogramModule, autoreplyModule];

/** The core with every module's migrations run: what main.ts, the tests and the benches open. */
export function createAppCore(config: Config, opts: Omit<CoreOptions, 'modules'> = {}): Promise<Core> {
  return createCore(config, { ...opts, modules });
}

/** Where a request's id may come from (a proxy's); a request without it gets one of requestIds(). */
const REQUEST_ID_HEADER = 'x-request-id';

/** Largest request body accepted anywhere but uploads (which set their own limit). */
export const BODY_LIMIT = 2 * 1024 * 1024;

/**
 * TRUST_PROXY as Fastify takes it. Fastify 5.12 reads a bare number as "trust nothing" (a hop count
 * cannot tell the proxy from a client that reaches the port directly), so a hop count here is a
 * function trusting the nearest N hops: safe only when the proxy alone can reach the port (HOST on
 * loopback, or a firewall); main.ts warns at start otherwise. Addresses/CIDRs check the peer.
 */
export function trustProxyOption(tp: boolean | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof tp === 'number') return tp === 0 ? false : (_address: string, hop: number) => hop < tp;
  return tp;
}

/**
 * @fastify/swagger marks every request body `required`, but a route whose body schema is nullish
 * (zod `.nullish()`, e.g. deleting an address) accepts a request without one: the document says
 * so, and the clients generated from it (web/generated) may leave the body out.
 */
export function optionalNullableBodies<T extends { paths?: unknown }>(doc: T): T {
  type Body = { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> };
  for (const item of Object.values((doc.paths ?? {}) as Record<string, Record<string, { requestBody?: Body }>>)) {
    for (const op of Object.values(item)) {
      const content = Object.values(op?.requestBody?.content ?? {});
      if (content.length && content.every((c) => c.schema?.nullable === true)) op.requestBody!.required = false;
    }
  }
  return doc;
}

/** Fastify's compiler factories answering zod's compilers (typed for ajv's, hence the cast). */
const zodCompilers = {
  buildValidator: () => validatorCompiler,
  buildSerializer: () => serializerCompiler,
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

export async function buildApp(core: Core): Promise<FastifyInstance> {
  // Typed as Fastify's logger, so the app is a FastifyInstance with the default logger type.
  const logger: FastifyBaseLogger = core.logger;
  // A request without X-Request-Id gets an id of requestIds(), which JSON never escapes.
  const accessLog = new AccessLog(core.logger, { plainIdsWithout: REQUEST_ID_HEADER });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxyOption(core.config.trustProxy),
    requestIdHeader: REQUEST_ID_HEADER,
    // One access-log line per request (access-log.ts) instead of Fastify's two.
    logController: accessLog,
    // A per-process random prefix and a counter (request-id.ts), unless the request brings one.
    genReqId: requestIds(),
    rewriteUrl: (req) => escapeMalformedPath(req.url ?? '/'),
    // While stopping, our own hook answers 503 in each API's envelope (draining.ts).
    return503OnClosing: false,
    // Every route validates and serializes through zod (set below, and by the scopes that set
    // their own); without these factories Fastify would load its default compilers at
    // construction: ajv, fast-uri and fast-json-stringify, ~0.6 MB of module source that no
    // route here ever uses (issue 15, idle memory; bench/README.md "Latest memory (mem4)").
    schemaController: { compilersFactory: zodCompilers },
  });
  // req.log made when a request first writes a line of its own (most write none).
  makeRequestLoggersLazy(app.log);
  const draining = registerDraining(app);
  // While the listening service is busy, V8's own heap growing (heap-busy.ts; issue 15).
  let stopWatching: (() => void) | undefined;
  app.addHook('onListen', async () => {
    stopWatching ??= watchBusy();
  });
  app.addHook('onClose', async () => stopWatching?.());
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'volunteer-hub',
        version: '0.1.0',
        description:
          'Volunteer certificates, member accounts, a WeChat mini-program user API and a WeChat keyword auto-reply assistant. ' +
          "The seeds' endpoints keep their own paths and envelopes; `/api/v2/...` is the REST API the web pages use.",
      },
      components: {
        securitySchemes: {
          adminToken: { type: 'http', scheme: 'bearer', description: 'The organizer (admin) token' },
          session: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'A member session token' },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => ('openapiObject' in doc ? optionalNullableBodies(doc.openapiObject) : doc.swaggerObject),
  });
  // staticCSP: swagger-ui's pages answer a CSP with the hashes of their own inline code (issue 10
  // item 13), framing refused and without `upgrade-insecure-requests` (an instance on a LAN
  // address over plain http must keep working); the other page headers as security-headers.ts.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // swagger-ui's script adds <style> elements of its own: inline styles (never scripts) here.
    transformStaticCSP: (csp) =>
      csp
        .replace(/frame-ancestors [^;]*;/, "frame-ancestors 'none';")
        .replace(/style-src [^;]*;/, "style-src 'self' 'unsafe-inline';")
        .replace(/\s*upgrade-insecure-requests;?/, ''),
    uiHooks: {
      onRequest: (_req, reply, done) => {
        reply.header('x-content-type-options', 'nosniff').header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer');
        done();
      },
    },
  });

  // Before any module's routes: CORS and the cross-site check apply to every route by its group.
  await registerOrigins(
    app,
    createOriginPolicy(
      core.config,
      modules.map((m) => m.routeGroups ?? {}),
    ),
  );
  registerOps(app, core, draining);
  // The dev mailbox holds every private link: it needs the organizer's token, checked and limited
  // like the certificates admin API (the limits are in the database, so one instance is enough).
  await registerDevMailbox(app, core, createAdminAuth(core.db, core.config.adminToken, core.now));
  for (const m of modules) await m.register(app, core);
  await registerWeb(app, { devMail: !core.config.isSmtpConfigured });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ code: 'not_found', message: `no route for ${req.method} ${req.originalUrl.split('?')[0]}` });
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string }, req, reply) => {
    const down = err instanceof ServiceUnavailableError ? err.message : databaseUnavailableReason(err);
    if (down) {
      if (!(err instanceof ServiceUnavailableError)) req.log.warn({ reason: down }, 'answered 503: the database is unavailable');
      reply.header('Retry-After', err instanceof ServiceUnavailableError ? Math.max(1, Math.ceil(err.retryAfterMs / 1000)) : 5);
      const message =
        err instanceof ServiceUnavailableError
          ? err.message
          : `the service is temporarily unavailable; try again in a few seconds (request ${req.id})`;
      return reply.status(503).send({ code: 'unavailable', message });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'unhandled error');
    reply.status(status).send({
      code: status === 500 ? 'internal' : 'bad_request',
      message: status === 500 ? `internal error (request ${req.id})` : (err.message ?? 'bad request'),
    });
  });
  return app;
}
