/**
 * The hot paths of issue 15 (a volunteer's getUserInfo, the mini-program's get, a member
 * account's WeChat webhook) run only the hooks every route runs (draining, origins: the ones
 * /healthz runs too). A plugin registered in a scope adds its hooks to each request of every
 * route there: @fastify/multipart, for one, adds an async onRequest hook (a 'close' listener per
 * request) and an async onResponse hook (its temp-file cleanup).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ startJobs: false });
});
afterAll(async () => t?.close());

/** The hooks listed under `line` (a route of Fastify's printRoutes tree, hooks included). */
function hooksOf(route: string): string[] {
  const lines = t.app.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n');
  const at = lines.findIndex((l) => l.endsWith(route));
  expect(at, route).toBeGreaterThanOrEqual(0);
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    const m = /• (\(\w+\) \[.*\])$/.exec(l);
    if (!m) break;
    out.push(m[1]);
  }
  return out;
}

describe('hot routes', () => {
  it('run the hooks /healthz runs, no more', () => {
    const everyRoute = hooksOf('healthz (GET)');
    expect(everyRoute.length).toBeGreaterThan(0);
    expect(hooksOf('api/getUserInfo (GET)')).toEqual(everyRoute);
    expect(hooksOf('service/user/get (POST)')).toEqual(everyRoute);
    expect(hooksOf('/:account (GET, POST)')).toEqual(everyRoute);
  });
});
