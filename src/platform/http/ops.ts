/**
 * Operations endpoints: /healthz (200 while the database answers; 503 with the reason otherwise)
 * and /metrics (Prometheus text).
 */
import type { FastifyInstance } from 'fastify';
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
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
}
