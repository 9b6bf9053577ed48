/**
 * The access log (src/platform/http/access-log.ts): one line per request, at info, with method,
 * status, time and the URL with its secret query values replaced; nothing at warn.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { logUrl } from '../../src/platform/http/access-log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function appLogging(level: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  t = await startTestApp({ startJobs: false, logger: pino({ level }, sink) });
  return lines;
}

describe('access log', () => {
  it('writes one line per request, the secret query values redacted', async () => {
    const lines = await appLogging('info');
    const before = lines.length;
    const secret = 'SECRET-LINK-TOKEN-0123456789abcdefghijkl';
    const r = await t!.app.inject({ method: 'GET', url: `/api/getUserInfo?token=${secret}&campaign=default` });
    expect(r.statusCode).toBe(200);
    await expect.poll(() => lines.length).toBeGreaterThan(before);
    const mine = lines.slice(before);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      level: 30,
      msg: 'request',
      method: 'GET',
      url: '/api/getUserInfo?token=[redacted]&campaign=default',
      status: 200,
    });
    expect(typeof mine[0]!.ms).toBe('number');
    expect(typeof mine[0]!.reqId).toBe('string');
    expect(JSON.stringify(lines)).not.toContain(secret);
  });

  it('a 404 is one line too, with its status', async () => {
    const lines = await appLogging('info');
    const before = lines.length;
    await t!.app.inject({ method: 'GET', url: '/no/such/page' });
    await expect.poll(() => lines.length).toBeGreaterThan(before);
    const mine = lines.slice(before).filter((l) => l.msg === 'request');
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ url: '/no/such/page', status: 404 });
  });

  it('writes nothing per request at warn', async () => {
    const lines = await appLogging('warn');
    const r = await t!.app.inject({ method: 'GET', url: '/api/getUserInfo?token=abc' });
    expect(r.statusCode).toBe(200);
    expect(lines.filter((l) => l.reqId !== undefined)).toEqual([]);
  });
});

describe('logUrl', () => {
  it('keeps paths and harmless parameters, replaces secret values', () => {
    expect(logUrl('/healthz')).toBe('/healthz');
    expect(logUrl('/wechat/callback/x?signature=abc&timestamp=1&nonce=n&openid=o&msg_signature=m&echostr=e')).toBe(
      '/wechat/callback/x?signature=[redacted]&timestamp=1&nonce=[redacted]&openid=o&msg_signature=[redacted]&echostr=[redacted]',
    );
    expect(logUrl('/a?Token=t&access_token=u&code=c&page=2&flag')).toBe(
      '/a?Token=[redacted]&access_token=[redacted]&code=[redacted]&page=2&flag',
    );
    expect(logUrl('/a?%74oken=t')).toBe('/a?%74oken=[redacted]');
  });
});
