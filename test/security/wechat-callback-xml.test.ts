/**
 * Issue 10 item 9: WeChat callbacks. A body nested 9,000 deep (just under the 64 KB limit) used to
 * answer 500 with a stack trace (the reader recursed, and parsing came before the signature
 * check). Now: in plain mode the signature is checked before the body is read; the reader has no
 * recursion and refuses nesting deeper than 16; every refusal is a 4xx plain-text answer (the
 * callback's own form), logged at warn without a stack. Both the platform account's callback and a
 * member account's.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wechatSignature } from '../../src/platform/wechat/signature.js';
import { MAX_XML_DEPTH, parseWechatXml, XmlRefusedError } from '../../src/platform/wechat/xml.js';
import { member, MP, ORIGIN, startAutoreply, type Ctx } from '../autoreply/helpers.js';
import { jsonLogLines } from '../helpers/log-lines.js';

const DEEP = 9000;
const deepBody = (n: number) => `<xml>${'<a>'.repeat(n)}${'</a>'.repeat(n)}</xml>`;

describe('WeChat callbacks refuse deep XML without a stack', () => {
  let ctx: Ctx;
  const { lines: logs, sink } = jsonLogLines();
  let memberPath: string;
  const memberToken = 'deeptoken';

  beforeAll(async () => {
    ctx = await startAutoreply('sqlite', { logger: pino({ level: 'info' }, sink) });
    const m = await member(ctx, 'deepowner');
    const r = await ctx.t.app.inject({
      method: 'POST',
      url: '/api/v2/autoreply/accounts',
      headers: { ...ORIGIN, cookie: m.cookie },
      payload: { appid: 'wxdeep0000000001', secret: 'deepsecret000000000000000000001', token: memberToken },
    });
    expect(r.statusCode).toBe(201);
    memberPath = new URL(r.json<{ callback_url: string }>().callback_url).pathname;
  });
  afterAll(async () => ctx?.close());

  const signed = (token: string) => {
    const timestamp = String(Math.floor(ctx.clock.now / 1000));
    return { timestamp, nonce: 'n1', signature: wechatSignature(token, timestamp, 'n1') };
  };
  const post = (url: string, query: Record<string, string>, body: string) =>
    ctx.t.app.inject({ method: 'POST', url, query, payload: body, headers: { 'content-type': 'text/xml' } });

  function expectCleanRefusal(r: { statusCode: number; body: string; headers: Record<string, unknown> }, status: number) {
    expect(r.statusCode).toBe(status);
    expect(String(r.headers['content-type'])).toMatch(/^text\/plain/);
    expect(r.body).not.toMatch(/at \w+ \(|stack|internal error/i);
    expect(r.body.length).toBeLessThan(200);
  }
  const noStackNoError = () => {
    expect(logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(JSON.stringify(logs)).not.toMatch(/RangeError|Maximum call stack|"stack"/);
  };

  it('reads 9,000 levels without recursion and refuses past 16', () => {
    expect(MAX_XML_DEPTH).toBe(16);
    expect(() => parseWechatXml(deepBody(DEEP))).toThrow(XmlRefusedError);
    expect(() => parseWechatXml(deepBody(DEEP), { nested: true })).toThrow(/deep/);
    // 15 levels under <xml> (16 with it) still read; one more is refused.
    expect(() => parseWechatXml(deepBody(15), { nested: true })).not.toThrow();
    expect(() => parseWechatXml(deepBody(16), { nested: true })).toThrow(/deep/);
  });

  for (const which of ['platform', 'member'] as const) {
    it(`${which}: a 9,000-deep body with a wrong signature answers 401 before the body is read, logged at warn`, async () => {
      const url = which === 'platform' ? '/wechat/callback' : memberPath;
      logs.length = 0;
      const r = await post(url, signed('not-the-token'), deepBody(DEEP));
      expectCleanRefusal(r, 401);
      expect(r.body).toMatch(/signature/);
      noStackNoError();
      expect(logs.some((l) => l.level === 40 && /refused/.test(String(l.msg)))).toBe(true);
    });

    it(`${which}: the right signature but 9,000 deep answers 400 "too deep", logged at warn`, async () => {
      const url = which === 'platform' ? '/wechat/callback' : memberPath;
      logs.length = 0;
      const r = await post(url, signed(which === 'platform' ? MP.token : memberToken), deepBody(DEEP));
      expectCleanRefusal(r, 400);
      expect(r.body).toMatch(/deep/);
      noStackNoError();
      expect(logs.some((l) => l.level === 40 && /refused/.test(String(l.msg)))).toBe(true);
    });
  }

  it('a body over 64 KB answers 413 in the same form, without an error log', async () => {
    logs.length = 0;
    const r = await post(memberPath, signed('not-the-token'), `<xml>${'<a>'.repeat(30_000)}</xml>`);
    expectCleanRefusal(r, 413);
    noStackNoError();
  });

  it('safe mode: a deep Encrypt envelope is refused as 400 too', async () => {
    logs.length = 0;
    const r = await post('/wechat/callback', { ...signed(MP.token), encrypt_type: 'aes', msg_signature: 'x' }, deepBody(DEEP));
    expectCleanRefusal(r, 400);
    noStackNoError();
  });
});
