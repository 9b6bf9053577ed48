/** Operations endpoints: /healthz (database reachable) and /metrics (Prometheus text). */
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Core } from '../core.js';

export const metricsRegistry = new Registry();
let defaultsCollected = false;

export function registerOps(app: FastifyInstance, core: Core): void {
  if (!defaultsCollected) {
    collectDefaultMetrics({ register: metricsRegistry });
    defaultsCollected = true;
  }
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await sql`select 1`.execute(core.db);
      return { status: 'ok', database: core.dialect };
    } catch (err) {
      app.log.warn({ err }, 'health check failed');
      return reply.status(503).send({ status: 'unavailable', database: core.dialect });
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  });
}
