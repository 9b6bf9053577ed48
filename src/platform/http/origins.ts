/**
 * Who may call what from another origin: CORS and the cross-site check are one policy, decided
 * per route group (modules declare their groups by path prefix; see AppModule.routeGroups).
 *
 * - `token` routes carry their authority in the request itself (a link token, the admin token,
 *   a bearer token): a page elsewhere cannot borrow it, so they answer any origin by default, as
 *   the original projects did. CORS_ORIGINS narrows them to its origins unless it lists `*`.
 * - `session` routes are authenticated by a cookie the browser adds by itself (the assistant):
 *   they answer only the origins listed in CORS_ORIGINS, with credentials, and every request that
 *   changes state (any method but GET/HEAD/OPTIONS, and the GETs marked `changesState`) must come
 *   from the service's own origin or a listed one (the cross-site check). Every GET of a session
 *   group has to say whether it changes state, or the app refuses to start: a new route cannot
 *   forget the question.
 * - Anything else (pages, /docs, /healthz, the dev mailbox, WeChat's callbacks) gets no CORS.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { AppError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** On a GET of a session group: whether it changes state (then it passes the cross-site check). */
    changesState?: boolean;
  }
}

export type RouteGroup = 'token' | 'session';

/** Path prefixes per group, as a module declares them ("/v1/" or an exact path like "/api/email"). */
export interface RouteGroups {
  token?: string[];
  session?: string[];
}

export interface RouteInfo {
  method: string;
  url: string;
  group: RouteGroup | undefined;
  changesState: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 600;
const routeTables = new WeakMap<FastifyInstance, RouteInfo[]>();

/** Every route registered after registerOrigins, with its group (for tests and diagnostics). */
export function routeTable(app: FastifyInstance): readonly RouteInfo[] {
  return routeTables.get(app) ?? [];
}

/** Whether `url` (query included) is under `prefix`: "/v1/" covers "/v1/x"; "/api/email" covers "/api/email", "/api/email/x", "/api/email?x". */
function underPrefix(url: string, prefix: string, slash: boolean): boolean {
  if (!url.startsWith(prefix)) return false;
  if (slash || url.length === prefix.length) return true;
  const next = url.charCodeAt(prefix.length);
  return next === 47 /* / */ || next === 63; /* ? */
}

/** The policy built from the configuration and the modules' groups. */
export function createOriginPolicy(config: Pick<Config, 'publicUrl' | 'corsOrigins'>, groups: RouteGroups[]) {
  const listed = new Set(config.corsOrigins.filter((o) => o !== '*'));
  const tokenAnyOrigin = listed.size === 0 || config.corsOrigins.includes('*');
  const publicOrigin = new URL(config.publicUrl).origin;
  // Longest prefix first, so "/api/v2/autoreply/" (session) wins over a shorter token prefix.
  const table = groups
    .flatMap((g) => [...(g.token ?? []).map((p) => [p, 'token'] as const), ...(g.session ?? []).map((p) => [p, 'session'] as const)])
    .sort((a, b) => b[0].length - a[0].length)
    .map(([prefix, group]) => ({ prefix, group, slash: prefix.endsWith('/') }));

  /** The group of a URL. Runs on every request: a loop over ~20 prefixes, no allocation. */
  function groupOf(url: string): RouteGroup | undefined {
    for (const e of table) if (underPrefix(url, e.prefix, e.slash)) return e.group;
    return undefined;
  }

  /** The service's own origin (PUBLIC_URL, and the Host the request came to) or a listed one. */
  function trusted(origin: string, req: FastifyRequest): boolean {
    if (origin === publicOrigin || listed.has(origin)) return true;
    const host = req.headers.host;
    return !!host && (origin === `http://${host}` || origin === `https://${host}`);
  }

  function refererOrigin(req: FastifyRequest): string | undefined {
    const r = req.headers.referer;
    if (!r) return undefined;
    try {
      return new URL(r).origin;
    } catch {
      return 'null';
    }
  }

  /**
   * Whether a request comes from a page of another (untrusted) origin. Browsers say where a
   * request comes from: `Origin` on every cross-origin request but GET navigations (and `null`
   * for opaque origins), `Sec-Fetch-Site` on every request since 2020-2023, `Referer` unless a
   * policy strips it. A request with none of them is no browser's (curl, scripts, the seeds'
   * example clients) and carries no victim's cookie by accident: it passes, as in Go's
   * CrossOriginProtection. A cross-site page cannot remove `Origin` or `Sec-Fetch-Site`.
   */
  function isCrossSite(req: FastifyRequest): boolean {
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== '') return origin === 'null' || !trusted(origin, req);
    const sfs = req.headers['sec-fetch-site'];
    const ref = refererOrigin(req);
    if (sfs !== undefined) {
      if (sfs === 'same-origin' || sfs === 'none') return false;
      // A navigation or subresource from another origin: only a listed page's counts.
      return !(ref && ref !== 'null' && trusted(ref, req));
    }
    if (ref !== undefined) return ref === 'null' || !trusted(ref, req);
    return false;
  }

  /**
   * The Access-Control-Allow-Origin a group answers `origin` (a non-empty Origin header), or false
   * for none. Session groups answer with credentials (the cookie), token groups without.
   */
  function allowOrigin(group: RouteGroup, origin: string): string | false {
    if (group === 'session') return listed.has(origin) ? origin : false;
    if (tokenAnyOrigin) return '*';
    return listed.has(origin) ? origin : false;
  }

  return { groupOf, isCrossSite, allowOrigin, listed, tokenAnyOrigin };
}

export type OriginPolicy = ReturnType<typeof createOriginPolicy>;

/** The refusal of a cross-site state change (each module's envelope maps `cross_site`). */
export const crossSiteRefused = () =>
  new AppError(
    'cross_site',
    'cross-site request refused: a page of another site may not change anything here (the operator can allow an origin with CORS_ORIGINS)',
    403,
  );

function hasBearer(req: FastifyRequest): boolean {
  const h = req.headers.authorization;
  return typeof h === 'string' && /^Bearer\s+\S+$/i.test(h.trim());
}

/** Methods a preflight is told the token and session routes take. */
const CORS_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
/** Answer headers a calling page may read (a rate limit's wait, a download's name, the request id). */
const CORS_EXPOSED = 'Retry-After, Content-Disposition, X-Request-Id';

/** Adds `name` to the answer's Vary header (kept when there is one). */
function addVary(reply: FastifyReply, name: string): void {
  const v = reply.getHeader('vary');
  if (v === undefined) reply.header('vary', name);
  else if (
    !String(v)
      .split(',')
      .some((x) => x.trim().toLowerCase() === name.toLowerCase())
  )
    reply.header('vary', `${String(v)}, ${name}`);
}

/**
 * Installs the policy on the root app, before the modules register their routes: the route
 * table (and the start-up check that every session GET says whether it changes state), CORS and
 * its preflights, clear refusals of preflights, and the cross-site check.
 *
 * CORS is done here rather than by @fastify/cors: its per-request delegator rebuilt and merged
 * the options objects on every request, hot paths included, for an answer that depends only on
 * the group and the Origin header. What a browser sees is the same: on a token or session route,
 * `Vary: Origin` always, and for an allowed Origin Access-Control-Allow-Origin (with
 * Access-Control-Allow-Credentials on session routes) and Access-Control-Expose-Headers; a
 * preflight allowed is answered 204 with the methods, the requested headers echoed and a max
 * age, one without Access-Control-Request-Method 400, and one to a route outside the groups, or
 * without Origin, 404.
 */
export async function registerOrigins(app: FastifyInstance, policy: OriginPolicy): Promise<void> {
  const routes: RouteInfo[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (r) => {
    const group = policy.groupOf(r.url);
    for (const method of [r.method].flat()) {
      if (group === 'session' && (method === 'GET' || method === 'HEAD') && r.config?.changesState === undefined) {
        throw new Error(`route ${method} ${r.url} is in a cookie-session group: say whether it changes state (config.changesState)`);
      }
      routes.push({ method, url: r.url, group, changesState: !SAFE_METHODS.has(method) || r.config?.changesState === true });
    }
  });

  /** A preflight (any OPTIONS request): answered here, or left to the OPTIONS route's 404. */
  function preflight(req: FastifyRequest, reply: FastifyReply, group: RouteGroup | undefined, done: (err?: Error) => void): void {
    const origin = req.headers.origin;
    if (group === undefined || typeof origin !== 'string' || origin === '') return done();
    const allow = policy.allowOrigin(group, origin);
    const requested = req.headers['access-control-request-method'];
    if (allow === false) {
      if (!requested) return done();
      const why =
        group === 'session'
          ? 'cookie-session routes answer only the origins listed in CORS_ORIGINS'
          : 'token APIs answer only the origins listed in CORS_ORIGINS (add * to open them to any origin)';
      reply
        .status(403)
        .type('text/plain; charset=utf-8')
        .send(`origin ${origin} may not call ${req.url.split('?')[0]}: ${why}`);
      return;
    }
    addVary(reply, 'Origin');
    allowHeaders(reply, group, allow);
    if (!requested) {
      reply.status(400).type('text/plain').send('Invalid Preflight Request');
      return;
    }
    reply.header('access-control-allow-methods', CORS_METHODS);
    addVary(reply, 'Access-Control-Request-Headers');
    const headers = req.headers['access-control-request-headers'];
    if (headers !== undefined) reply.header('access-control-allow-headers', headers);
    reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
    reply.code(204).header('content-length', '0').send();
  }

  function allowHeaders(reply: FastifyReply, group: RouteGroup, allow: string): void {
    reply.header('access-control-allow-origin', allow);
    if (group === 'session') reply.header('access-control-allow-credentials', 'true');
    reply.header('access-control-expose-headers', CORS_EXPOSED);
  }

  // One hook, callback style (no promise per request: it runs on every request, hot paths
  // included), the group found once: preflights, CORS headers, and the cross-site check of state
  // changes on session routes, before the body is read or a session looked up.
  app.addHook('onRequest', (req, reply, done) => {
    const group = policy.groupOf(req.url);
    if (req.method === 'OPTIONS') return preflight(req, reply, group, done);
    if (group === undefined) return done();
    if (group === 'session' && isStateChange(req) && policy.isCrossSite(req)) return done(crossSiteRefused());
    // The answer depends on Origin from here on (allowed or not): caches must key on it. Set, not
    // added to: this hook is the root's second (after draining.ts's, which sets only
    // `connection`), so no Vary can be there yet; addVary's read of it first was ~0.3k
    // instructions per request (bench/README.md, "Hot paths, an eleventh pass").
    reply.header('vary', 'Origin');
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== '') {
      const allow = policy.allowOrigin(group, origin);
      if (allow !== false) allowHeaders(reply, group, allow);
    }
    done();
  });

  /** A session route's request that changes state and is authenticated by the cookie. */
  function isStateChange(req: FastifyRequest): boolean {
    // req.routeOptions builds an object per read: only session routes get here.
    const route = req.routeOptions;
    if (!route.url) return false;
    if (SAFE_METHODS.has(req.method) && route.config?.changesState !== true) return false;
    // A bearer header is not ambient: the cookie is not what authenticates this request.
    return !hasBearer(req);
  }

  // Preflights not answered by the hook (no Origin, a route outside the groups): not found.
  app.options('*', { schema: { hide: true } }, (_req, reply) => reply.callNotFound());
}
