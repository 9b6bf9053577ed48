/**
 * Stopping without dropping anyone (issue 11.9). On SIGTERM the server stops accepting
 * connections and lets the requests in flight finish; a request that still arrives on an open
 * connection (pipelined behind one in flight, or racing its close) is answered HTTP 503 with
 * `Retry-After` and `Connection: close` in its own API's envelope: the hook throws
 * ServiceUnavailableError and each module's error handler maps it (envelope.ts). Fastify's own
 * "return 503 on closing" is turned off in app.ts: it answers a body of its own.
 */
import type { FastifyInstance } from 'fastify';
import { ServiceUnavailableError } from './errors.js';

export interface Draining {
  /** True once stopping has begun. */
  readonly active: boolean;
  /** From now on, new requests are answered 503. */
  begin(): void;
}

/** How often, while stopping, connections that went idle are closed. */
const SWEEP_MS = 100;

declare module 'fastify' {
  interface FastifyInstance {
    draining: Draining;
  }
}

/** Installs the hook (call before any route is registered, so that it runs first everywhere). */
export function registerDraining(app: FastifyInstance): Draining {
  let active = false;
  let sweep: NodeJS.Timeout | undefined;
  const draining: Draining = {
    get active() {
      return active;
    },
    begin() {
      if (active) return;
      active = true;
      // A keep-alive connection whose last answer went out while stopping is closed soon after:
      // left open, it would hold the stop until its keep-alive timeout or the end of the grace
      // period. A sweep of the idle connections while stopping, rather than an onResponse hook:
      // a hook runs on every answer of every route (the hot paths too), stopping or not.
      sweep = setInterval(() => app.server.closeIdleConnections(), SWEEP_MS);
      sweep.unref();
    },
  };
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweep);
    done();
  });
  app.decorate('draining', draining);
  // Callback-style hooks: they run on every request (the hot paths too), and an async hook costs
  // a promise and a microtask turn each time for what is, until stopping, one boolean test.
  app.addHook('onRequest', (req, reply, done) => {
    if (!active) return done();
    reply.header('connection', 'close');
    // /healthz answers for itself: 503 {status: "unavailable", reason: "shutting down"}.
    if (req.url === '/healthz') return done();
    done(
      new ServiceUnavailableError(
        'the service is temporarily unavailable: this instance is shutting down; send the request again (another instance, or this one once restarted, will answer)',
        2000,
      ),
    );
  });
  return draining;
}
