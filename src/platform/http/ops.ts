/**
 * Operations endpoints: /healthz (200 while the database answers; 503 with the reason otherwise)
 * and /metrics (Prometheus text).
 * /metrics is not public (issue 10 item 13): with METRICS_TOKEN it needs `Authorization: Bearer
 * <token>` (compared in constant time); without it only a client connected directly over
 * loopback gets it, and a request carrying proxy headers is refused, since a reverse proxy on the
 * same host makes every visitor look like loopback when TRUST_PROXY is unset.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { safeEqual } from '../crypto/tokens.js';
import { sql } from 'kysely';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Core } from '../core.js';
import { databaseUnavailableReason } from './errors.js';
import type { Draining } from './draining.js';

/** A health check waits this long for the database (a black-holed server must not hang it). */
const HEALTH_TIMEOUT_MS = 3000;

/** Why the database cannot serve now, or undefined when `select 1` answers in time. */
async function databaseDown(core: Core): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`select 1`.execute(core.db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
      }),
    ]);
    return undefined;
  } catch (err) {
    return databaseUnavailableReason(err) ?? `database check failed: ${(err as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

export const metricsRegistry = new Registry();
let defaultsCollected = false;

export function registerOps(app: FastifyInstance, core: Core, draining?: Draining): void {
  if (!defaultsCollected) {
    collectDefaultMetrics({ register: metricsRegistry });
    defaultsCollected = true;
  }
  // While stopping, the draining hook answers before this handler: 503 "shutting down".
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    const down = draining?.active ? 'shutting down' : await databaseDown(core);
    if (!down) return { status: 'ok', database: core.dialect };
    app.log.warn({ reason: down }, 'health check failed');
    reply.header('Retry-After', 5);
    return reply.status(503).send({ status: 'unavailable', database: core.dialect, reason: down });
  });
  const token = core.config.metricsToken;
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    if (token) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (!m || !safeEqual(m[1], token)) {
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ code: 'unauthorized', message: 'send METRICS_TOKEN as Authorization: Bearer <token>' });
      }
    } else if (!isDirectLoopback(req)) {
      return reply
        .status(403)
        .send({ code: 'forbidden', message: '/metrics answers loopback clients only; set METRICS_TOKEN to scrape it from elsewhere' });
    }
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
}

const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'via'];

/** The client is this machine (its socket and the address Fastify resolved), with no proxy in between. */
function isDirectLoopback(req: FastifyRequest): boolean {
  const loop = (a: string | undefined) => !!a && (/^127\./.test(a) || a === '::1' || /^::ffff:127\./i.test(a));
  if (!loop(req.socket.remoteAddress) || !loop(req.ip)) return false;
  return !PROXY_HEADERS.some((h) => req.headers[h] !== undefined);
}
