/**
 * The access log (src/platform/http/access-log.ts): one line per request, at info, with method,
 * status, time and the URL with its secret query values replaced; nothing at warn.
 */
import { Writable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessLog, logUrl, makeRequestLoggersLazy, msText } from '../../src/platform/http/access-log.js';
import { redactUrl } from '../../src/platform/logger.js';
import { jsonLogLines } from '../helpers/log-lines.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** An AccessLog over pino writing into an array of the lines written, and its pino logger. */
function capturedAccessLog() {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      written.push(String(chunk));
      cb();
    },
  });
  const log = new AccessLog(pino({ level: 'info' }, sink));
  return { written, log, out: (log as unknown as { out: pino.Logger }).out };
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function appLogging(level: string, root?: (logger: pino.Logger) => void) {
  const { lines, sink } = jsonLogLines();
  const logger = pino({ level, redact: { paths: ['*.token'], censor: '[redacted]' } }, sink);
  root?.(logger);
  t = await startTestApp({ startJobs: false, logger });
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

  it("a request's own lines carry its reqId, the one of its access line, and the logger's redaction", async () => {
    const lines = await appLogging('info');
    const before = lines.length;
    // An unknown callback is refused with a warn line through the request's logger.
    const r = await t!.app.inject({
      method: 'POST',
      url: '/wechat/callback/no-such-account',
      payload: '<xml></xml>',
      headers: { 'content-type': 'text/xml' },
    });
    expect(r.statusCode).toBe(404);
    await expect.poll(() => lines.slice(before).filter((l) => l.msg === 'request').length).toBe(1);
    const mine = lines.slice(before);
    const warn = mine.find((l) => l.msg === 'wechat callback refused');
    const access = mine.find((l) => l.msg === 'request');
    expect(warn).toMatchObject({ level: 40, status: 404 });
    expect(typeof warn!.reqId).toBe('string');
    expect(warn!.reqId).toBe(access!.reqId);
  });

  it('makes no logger per request for a request that logs nothing but its access line', async () => {
    let children = () => 0;
    await appLogging('info', (logger) => (children = countChildren(logger)));
    const before = children();
    for (let i = 0; i < 20; i++) {
      const r = await t!.app.inject({ method: 'GET', url: `/api/getUserInfo?token=unknown-${i}` });
      expect(r.statusCode).toBe(200);
    }
    expect(children() - before).toBe(0);
  });

  it('writes nothing per request at warn', async () => {
    const lines = await appLogging('warn');
    const r = await t!.app.inject({ method: 'GET', url: '/api/getUserInfo?token=abc' });
    expect(r.statusCode).toBe(200);
    expect(lines.filter((l) => l.reqId !== undefined)).toEqual([]);
  });
});

/** Counts the children made of `logger` (and of its children, which inherit its `child`). */
function countChildren(logger: pino.Logger): () => number {
  let n = 0;
  const child = logger.child;
  logger.child = function (this: pino.Logger, ...a: Parameters<typeof child>) {
    n++;
    return child.apply(this, a);
  } as typeof child;
  return () => n;
}

describe('makeRequestLoggersLazy', () => {
  // Fastify asks its root logger's `child` for each request's req.log (app.ts).
  it("makes a request's logger on first use: the root's child with the request's bindings, redaction and level included", () => {
    const { lines, sink } = jsonLogLines();
    const parent = pino({ level: 'info', redact: { paths: ['*.token'], censor: '[redacted]' } }, sink);
    const made = countChildren(parent);
    makeRequestLoggersLazy(parent);
    const log = parent.child({ reqId: 'r1' }, {});
    expect(made()).toBe(0);
    expect(log.level).toBe('info');
    log.debug('not written');
    expect(made()).toBe(0);
    log.warn({ req: { token: 'SECRET' } }, 'refused');
    expect(made()).toBe(1);
    log.warn('again, the same child');
    expect(made()).toBe(1);
    // A child of the request's logger keeps the request's bindings (pino's children inherit the
    // root's methods: the root's lazy `child` must not stand in for theirs).
    log.child({ part: 'x' }).info('from a child');
    expect(made()).toBe(2);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, reqId: 'r1', req: { token: '[redacted]' }, msg: 'refused' }),
      expect.objectContaining({ level: 40, reqId: 'r1', msg: 'again, the same child' }),
      expect.objectContaining({ level: 30, reqId: 'r1', part: 'x', msg: 'from a child' }),
    ]);
    const quiet = parent.child({ reqId: 'r2' }, { level: 'error' });
    expect(quiet.level).toBe('error');
    quiet.warn('below the route level');
    expect(made()).toBe(2); // not made for a line below its level
    expect(lines).toHaveLength(3);
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

describe('AccessLog line', () => {
  it('is byte for byte what pino writes for the same fields (quotes, backslashes, control and latin-1 characters)', async () => {
    const { written, log, out } = capturedAccessLog();
    const cases: [string, string, string, number, number][] = [
      ['4fc86cf7-1b2c-4d5e-8f90-0123456789ab', 'GET', '/api/getUserInfo?token=[redacted]', 200, 1.25],
      ['r"1\\x', 'POST', '/a?b=\u0001c\u00ff"\\&d=\u007f', 404, 0],
      ['x'.repeat(120), 'DELETE', `/long/${'é'.repeat(150)}?q=\t`, 503, 1234.56],
      // Strings that need no escape are quoted as they are (AccessLog's quote): these do need it,
      // or sit at its edges (U+001F, U+0020, U+007F, U+2028, an emoji's surrogate pair).
      ['id\u001f', 'GET', `/p?a=\u0020\u007f\u2028&e=\ud83d\ude00&${'z'.repeat(40)}`, 200, 2],
      ['plain-id', 'GET', '/plain/path?with=only&safe=chars-~!$%27()*+,;:@', 200, 0.01],
    ];
    for (const [reqId, method, url, status, ms] of cases) {
      const mine = log.line(reqId, method, url, status, ms);
      out.info({ reqId, method, url, status, ms }, 'request');
      await new Promise((r) => setImmediate(r));
      const pinos = written.pop()!;
      const time = /"time":(\d+)/.exec(pinos)![1];
      expect(mine.replace(/"time":\d+/, `"time":${time}`)).toBe(pinos);
    }
  });
});

describe('AccessLog line, its parts', () => {
  const log = () => new AccessLog(pino({ level: 'info' }, new Writable({ write: (_c, _e, cb) => cb() })));

  it('writes the time of the call, also for lines in the same millisecond and after it', () => {
    const l = log();
    const now = vi.spyOn(Date, 'now');
    try {
      for (const t of [1796316022753, 1796316022753, 1796316022754, 1796316022753, 1]) {
        now.mockReturnValue(t);
        expect(JSON.parse(l.line('id', 'GET', '/', 200, 1)).time).toBe(t);
      }
    } finally {
      now.mockRestore();
    }
  });

  it('quotes every string as JSON.stringify does: each char code at the edges of what JSON escapes', () => {
    const l = log();
    const codes = [
      ...Array(0x90).keys(),
      0xa0,
      0xff,
      0x100,
      0x2028,
      0x2029,
      0xd7ff,
      0xd800,
      0xdbff,
      0xdc00,
      0xdfff,
      0xe000,
      0xfeff,
      0xffff,
    ];
    for (const c of codes) {
      const s = `a${String.fromCharCode(c)}b`;
      const line = l.line(s, s, s, 200, 0);
      const q = JSON.stringify(s);
      expect(line).toContain(`"reqId":${q},"method":${q},"url":${q},`);
    }
    // A surrogate pair (an emoji) and a lone surrogate at either end.
    for (const s of ['\ud83d\ude00', '\ud83d', 'x\ude00', '']) expect(l.line(s, 'GET', s, 200, 0)).toContain(`"url":${JSON.stringify(s)},`);
  });

  it('writes ms as JSON does (msText against String, for the two-decimal values round gives and any other number)', () => {
    const round = (ms: number) => Math.round(ms * 100) / 100;
    const values = [0, -0, 0.001, 0.004, 0.005, 0.01, 0.05, 0.1, 0.15, 0.3, 0.7, 1, 1.005, 1.25, 2, 9.99, 10, 12.3, 99.995, 100, 1234.56];
    values.push(1e9 + 0.01, 1e12 + 0.05, 9999999999999.99, 1e13, 1e13 + 0.01, 1e15, 1e21, 1e-7);
    for (let i = 0; i < 20000; i++) values.push(Math.random() * 10 ** Math.floor(Math.random() * 9));
    for (let h = 0; h < 20000; h++) values.push(h / 100);
    for (const v of values) {
      expect(msText(round(v))).toBe(String(round(v)));
      expect(msText(v)).toBe(String(v));
    }
    for (const v of [-1.25, -0.01, NaN, Infinity, -Infinity, 0.1 + 0.2, 2 ** 53, Number.MAX_VALUE]) expect(msText(v)).toBe(String(v));
  });
});

describe('AccessLog on a destination of text', () => {
  it("writes each line to the logger's destination at once (the destination batches a turn's lines: log-destination.ts)", () => {
    const { written: writes, log } = capturedAccessLog();
    const req = (id: string) => ({ id, method: 'GET', url: `/api/getUserInfo?token=${id}` }) as unknown as FastifyRequest;
    const reply = { statusCode: 200, elapsedTime: 1.5 } as unknown as FastifyReply;
    log.requestCompleted(null, req('a'), reply);
    log.requestCompleted(null, req('b'), reply);
    expect(writes).toHaveLength(2);
    for (const [i, id] of ['a', 'b'].entries()) {
      const want = log.line(id, 'GET', '/api/getUserInfo?token=[redacted]', 200, 1.5);
      const time = /"time":(\d+)/.exec(writes[i]!)![1];
      expect(writes[i]).toBe(want.replace(/"time":\d+/, `"time":${time}`));
    }
  });
});

describe('AccessLog, the line of an answered request', () => {
  it("is pino's line of the same fields, the URL as logUrl gives it, for URLs that need escaping and URLs that do not", async () => {
    const { written, log, out } = capturedAccessLog();
    const reply = { statusCode: 200, elapsedTime: 2.5 } as unknown as FastifyReply;
    const urls = [
      '/api/getUserInfo?token=abc',
      '/api/getUserInfo?token=a"b\\c',
      '/a?q="x"&token=\u0001',
      '/a\\b?token=secret',
      '/p"q',
      '/static/qrimages/x"y?token=t',
      '/unsubscribe/tok?x=\u00e9',
      '/a?token=\ud83d\ude00&b=\u2028',
      // (Not a lone surrogate: pino before node 25 writes one as it is in a short string, JSON.stringify
      // and quote escape it; a request's URL, read as latin-1 by node's parser, holds none.)
      '/x?%74oken=1&code=2',
    ];
    for (const url of urls) {
      log.requestCompleted(null, { id: 'id-1', method: 'GET', url } as unknown as FastifyRequest, reply);
      const mine = written.pop()!;
      out.info({ reqId: 'id-1', method: 'GET', url: logUrl(url), status: 200, ms: 2.5 }, 'request');
      const pinos = written.pop()!;
      const time = /"time":(\d+)/.exec(pinos)![1];
      expect(mine.replace(/"time":\d+/, `"time":${time}`), url).toBe(pinos);
    }
  });
});

describe('logUrl, against the composition it replaces', () => {
  /** logUrl as it was: every name decoded, then redactUrl over the whole result. */
  const SECRET_PARAM = /^(?:.*token.*|.*secret.*|.*signature.*|.*password.*|.*key|code|js_code|echostr|ticket|nonce)$/i;
  function before(url: string): string {
    const q = url.indexOf('?');
    if (q < 0) return redactUrl(url);
    const parts = url.slice(q + 1).split('&');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      const eq = p.indexOf('=');
      let name = eq < 0 ? p : p.slice(0, eq);
      try {
        name = decodeURIComponent(name);
      } catch {
        // as it came
      }
      if (eq >= 0 && SECRET_PARAM.test(name)) parts[i] = `${p.slice(0, eq)}=[redacted]`;
    }
    return redactUrl(`${url.slice(0, q)}?${parts.join('&')}`);
  }

  it('gives the same text for every URL, the odd ones included', () => {
    const pieces = [
      '/',
      'a',
      '?',
      '&',
      '=',
      '#',
      '%',
      '%74',
      '%zz',
      'token',
      'Token',
      'code',
      'access_token',
      'session_key',
      'appsecret',
      'password',
      'ticket',
      'js_code',
      'nonce',
      'x',
      '1',
      '/static/qrimages/',
      '/unsubscribe/',
      '/api/getUserInfo',
      'é',
    ];
    let seed = 15;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    for (let i = 0; i < 20_000; i++) {
      let url = rand(4) === 0 ? '/static/qrimages/' : rand(3) === 0 ? '/unsubscribe/' : '/';
      for (let k = rand(12); k > 0; k--) url += pieces[rand(pieces.length)];
      expect(logUrl(url), url).toBe(before(url));
    }
    for (const url of ['/a&token=x/b?c=d', '/x?a=b?token=c', '/x?token=abc#def', '/static/qrimages/a&token=b?x', '/x?%74oken=1&code=2'])
      expect(logUrl(url), url).toBe(before(url));
  });
});
