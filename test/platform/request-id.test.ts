/**
 * Request ids (src/platform/http/request-id.ts, app.ts's genReqId): unique within a process and
 * across a fleet of processes, an incoming X-Request-Id kept, and the id of a request the same in
 * its access line, its own log lines and an internal error's answer.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { requestIds } from '../../src/platform/http/request-id.js';
import { jsonLogLines } from '../helpers/log-lines.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('request ids', () => {
  it('are unique within a process and between processes (a random prefix per process, then a counter)', () => {
    const a = requestIds();
    const b = requestIds();
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      seen.add(a());
      seen.add(b());
    }
    expect(seen.size).toBe(100_000);
    const [x, y] = [a(), b()];
    // The prefix: 72 random bits, as URL-safe text, before the counter.
    const prefix = (id: string) => id.slice(0, id.lastIndexOf('-'));
    expect(prefix(x)).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(prefix(x)).not.toBe(prefix(y));
    expect(prefix(a())).toBe(prefix(x));
    // Nothing JSON would escape, nothing a header could not carry.
    expect(x).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("are what the app gives each request: the access line and the request's own lines carry it, an incoming X-Request-Id is kept", async () => {
    const { lines, sink } = jsonLogLines();
    t = await startTestApp({ startJobs: false, logger: pino({ level: 'info' }, sink) });
    await t.app.inject({ method: 'GET', url: '/api/getUserInfo?token=unknown-1' });
    await t.app.inject({ method: 'GET', url: '/api/getUserInfo?token=unknown-2' });
    await t.app.inject({ method: 'GET', url: '/api/getUserInfo?token=unknown-3', headers: { 'x-request-id': 'from-the-proxy-42' } });
    await expect.poll(() => lines.filter((l) => l.msg === 'request').length).toBe(3);
    const ids = lines.filter((l) => l.msg === 'request').map((l) => l.reqId as string);
    expect(ids[2]).toBe('from-the-proxy-42');
    expect(ids[0]).not.toBe(ids[1]);
    // One process, one prefix; the counter moves on.
    const prefix = (id: string) => id.slice(0, id.lastIndexOf('-'));
    expect(prefix(ids[0]!)).toBe(prefix(ids[1]!));
    expect(ids[0]).toMatch(/^[A-Za-z0-9_-]{12}-[0-9a-z]+$/);
  });

  it('an incoming X-Request-Id that JSON must escape is escaped in the access line; an empty one is replaced by an id of ours', async () => {
    const { lines, sink } = jsonLogLines();
    t = await startTestApp({ startJobs: false, logger: pino({ level: 'info' }, sink) });
    const odd = ['say "hi"', 'back\\slash', 'tab\there', '\u00e9t\u00e9'];
    for (const id of odd) await t.app.inject({ method: 'GET', url: '/api/getUserInfo?token=unknown-1', headers: { 'x-request-id': id } });
    await t.app.inject({ method: 'GET', url: '/api/getUserInfo?token=unknown-1', headers: { 'x-request-id': '' } });
    await expect.poll(() => lines.filter((l) => l.msg === 'request').length).toBe(odd.length + 1);
    const ids = lines.filter((l) => l.msg === 'request').map((l) => l.reqId as string);
    expect(ids.slice(0, odd.length)).toEqual(odd);
    expect(ids[odd.length]).toMatch(/^[A-Za-z0-9_-]{12}-[0-9a-z]+$/);
  });
});
