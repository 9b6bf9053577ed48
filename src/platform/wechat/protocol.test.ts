/** The WeChat message protocol on its own: signatures, timestamps, safe-mode AES, hardened XML. */
import { describe, expect, it } from 'vitest';
import { createCipheriv } from 'node:crypto';
import { checkSignature, isFreshTimestamp, wechatSignature } from './signature.js';
import { aesKeyBytes, decryptMessage, encryptMessage, WechatCryptoError } from './message-crypto.js';
import { buildXml, cdata, parseWechatXml, textReplyXml, XmlRefusedError } from './xml.js';
import { buildInbound, CallbackRefused, openMessage, openReply, verifyEcho, wrapReply } from './callback.js';

const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const account = { appid: 'wx1234567890abcdef', token: 'tok-en', aesKey: AES };
const NOW = 1_800_000_000_000;

describe('signature', () => {
  it('is sha1 of the sorted parts and checks in constant time', () => {
    const s = wechatSignature('token', '1409304348', 'xxxxxx');
    expect(s).toMatch(/^[0-9a-f]{40}$/);
    expect(wechatSignature('xxxxxx', 'token', '1409304348')).toBe(s);
    expect(checkSignature(s, 'token', '1409304348', 'xxxxxx')).toBe(true);
    expect(checkSignature(s.toUpperCase(), 'token', '1409304348', 'xxxxxx')).toBe(true);
    expect(checkSignature(s, 'token2', '1409304348', 'xxxxxx')).toBe(false);
    expect(checkSignature(undefined, 'token', '1409304348', 'xxxxxx')).toBe(false);
  });
  it('accepts exactly the 40 hex digits of the right digest, in either case, whatever the order of the parts', () => {
    const parts = ['tok-en', '1409304348', 'n0nce'];
    const s = wechatSignature(...parts);
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    for (const [a, b, c] of orders) expect(wechatSignature(parts[a]!, parts[b]!, parts[c]!)).toBe(s);
    // Parts that sort differently by code unit than by locale, and one a prefix of another.
    expect(wechatSignature('b', 'B', 'ba')).toBe(wechatSignature('B', 'b', 'ba'));
    expect(checkSignature(wechatSignature('a', 'ab', 'Z'), 'ab', 'Z', 'a')).toBe(true);
    const mixed = s.replace(/[a-f]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c));
    expect(checkSignature(mixed, 'tok-en', '1409304348', 'n0nce')).toBe(true);
    for (const bad of [
      s.slice(0, 39),
      s + '0',
      '',
      s.slice(0, 39) + 'g',
      s.slice(0, 39) + 'G',
      ' ' + s.slice(1),
      s.slice(0, 39) + (s[39] === '0' ? '1' : '0'),
      s.slice(0, 20) + String.fromCharCode(s.charCodeAt(20) ^ 1) + s.slice(21),
      'İ'.repeat(40),
    ])
      expect(checkSignature(bad, 'tok-en', '1409304348', 'n0nce'), bad).toBe(false);
    // Safe mode's msg_signature: four parts.
    const m = wechatSignature('tok-en', '1409304348', 'n0nce', 'ENC==');
    expect(m).toBe(wechatSignature('ENC==', 'n0nce', 'tok-en', '1409304348'));
    expect(checkSignature(m.toUpperCase(), 'tok-en', '1409304348', 'n0nce', 'ENC==')).toBe(true);
    expect(checkSignature(m, 'tok-en', '1409304348', 'n0nce', 'ENC=')).toBe(false);
    expect(checkSignature(s, 'tok-en', '1409304348', 'n0nce', 'ENC==')).toBe(false);
  });
  it('refuses timestamps outside the window', () => {
    expect(isFreshTimestamp(String(NOW / 1000 - 299), NOW)).toBe(true);
    expect(isFreshTimestamp(String(NOW / 1000 - 301), NOW)).toBe(false);
    expect(isFreshTimestamp(String(NOW / 1000 + 301), NOW)).toBe(false);
    expect(isFreshTimestamp('12a', NOW)).toBe(false);
  });
});

describe('safe mode AES', () => {
  it('round-trips, pads to 32-byte blocks and lays the plaintext out as WeChat does', () => {
    const msg = '<xml><Content><![CDATA[你好]]></Content></xml>';
    const enc = encryptMessage(AES, account.appid, msg, Buffer.alloc(16, 7));
    expect(decryptMessage(AES, account.appid, enc)).toBe(msg);
    // Independent construction of the same ciphertext from the spec.
    const key = aesKeyBytes(AES);
    const m = Buffer.from(msg);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(m.length);
    const body = Buffer.concat([Buffer.alloc(16, 7), len, m, Buffer.from(account.appid)]);
    const pad = 32 - (body.length % 32);
    const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    c.setAutoPadding(false);
    const expected = Buffer.concat([c.update(Buffer.concat([body, Buffer.alloc(pad, pad)])), c.final()]).toString('base64');
    expect(enc).toBe(expected);
  });
  it('refuses another appid and tampered data', () => {
    const enc = encryptMessage(AES, account.appid, 'hello');
    expect(() => decryptMessage(AES, 'wxother', enc)).toThrow(WechatCryptoError);
    const bad = Buffer.from(enc, 'base64');
    bad[bad.length - 1] ^= 0xff;
    expect(() => decryptMessage(AES, account.appid, bad.toString('base64'))).toThrow(WechatCryptoError);
  });
});

describe('XML', () => {
  it('parses a message keeping MsgId exact', () => {
    const f = parseWechatXml(
      '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgId>1234567890123456789</MsgId><Content><![CDATA[a &amp; b]]></Content></xml>',
    );
    expect(f).toEqual({ ToUserName: 'gh_1', MsgId: '1234567890123456789', Content: 'a &amp; b' });
  });
  it('refuses DTDs and entities before parsing', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>';
    expect(() => parseWechatXml(xxe)).toThrow(XmlRefusedError);
    expect(() => parseWechatXml('<!ENTITY a "b"><xml/>')).toThrow(/not accepted/);
    expect(() => parseWechatXml(`<xml><Content>${'a'.repeat(70_000)}</Content></xml>`)).toThrow(/too large/);
  });
  it('reads what WeChat sends and refuses what is not well-formed', () => {
    const doc = `<?xml version="1.0" encoding="utf-8"?>\n<!-- hi --><xml>\n  <ToUserName><![CDATA[gh_1]]></ToUserName>\n  <CreateTime>1348831860</CreateTime>\n  <Content>a &lt;b&gt; &amp; &#20320;&#x597D; <![CDATA[ & <c> ]]></Content>\n  <Empty/>\n  <ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType></ScanCodeInfo>\n  <Twice>1</Twice><Twice>2</Twice>\n  <constructor>x</constructor>\n</xml>\n`;
    expect(parseWechatXml(doc)).toEqual({
      ToUserName: 'gh_1',
      CreateTime: '1348831860',
      Content: 'a <b> & 你好 & <c> ',
      Empty: '',
      constructor: 'x',
    });
    for (const bad of [
      '<xml><A>1</B></xml>',
      '<xml><A>1</A>',
      '<xml><A x="1">1</A></xml>',
      '<xml><A>1</A></xml><xml/>',
      '<xml><A>&nbsp;</A></xml>',
      '<xml><A>a & b</A></xml>',
      '<xml><A><![CDATA[x</A></xml>',
      '<other><A>1</A></other>',
      'not xml at all',
      '',
    ]) {
      expect(() => parseWechatXml(bad), bad).toThrow(XmlRefusedError);
    }
  });
  it('keeps any reply text inside its element', () => {
    const evil = 'x]]></Content><MsgType>news</MsgType><Content><![CDATA[\u0001';
    const xml = textReplyXml('o1', 'gh', evil, 1);
    const back = parseWechatXml(xml);
    expect(back.MsgType).toBe('text');
    expect(back.Content).toBe('x]]></Content><MsgType>news</MsgType><Content><![CDATA[');
    expect(cdata(']]>')).toBe('<![CDATA[]]]]><![CDATA[>]]>');
  });
  it('writes a text reply as buildXml does, whatever the text holds', () => {
    for (const text of ['plain', '', '您好 😀', 'a]]>b', 'tab\tnl\n', '\u0001ctl', '\uFFFEx', 'lone \uD800', 'x]]', ']>'])
      expect(textReplyXml(text, 'gh_1', text, 1796210788.9), JSON.stringify(text)).toBe(
        buildXml({ ToUserName: text, FromUserName: 'gh_1', CreateTime: 1796210788.9, MsgType: 'text', Content: text }),
      );
  });
  it('reads every shape of a field the same way', () => {
    const cases: Array<[string, string]> = [
      ['<A><![CDATA[x y]]></A>', 'x y'],
      ['<A> <![CDATA[x]]> </A>', 'x'],
      ['<A><![CDATA[x]]>tail</A>', 'xtail'],
      ['<A><![CDATA[a]]><![CDATA[b]]></A>', 'ab'],
      ['<A>  12 </A>', '12'],
      ['<A>a &amp; &#x4e2d;</A>', 'a & 中'],
      ['<A></A>', ''],
      ['<A>   </A>', ''],
      ['<A><!-- c -->v</A>', 'v'],
      ['<A><![CDATA[v]]></A >', 'v'],
    ];
    for (const [el, want] of cases) expect(parseWechatXml(`<xml>${el}<B>1</B></xml>`), el).toEqual({ A: want, B: '1' });
    expect(() => parseWechatXml('<xml><A><![CDATA[v]]></AB></xml>')).toThrow(XmlRefusedError);
    expect(() => parseWechatXml('<xml><A>v</A</xml>')).toThrow(XmlRefusedError);
    expect(() => parseWechatXml('<xml><A>a & b</A></xml>')).toThrow(XmlRefusedError);
    expect(parseWechatXml('<xml><A><B>1</B></A><C>2</C></xml>')).toEqual({ C: '2' });
  });
});

describe('callback', () => {
  it('verifies echostr and opens plain and safe messages, wrapping replies', () => {
    const ts = String(NOW / 1000);
    const sig = wechatSignature(account.token, ts, 'n1');
    expect(verifyEcho(account, { signature: sig, timestamp: ts, nonce: 'n1', echostr: 'e123' }, NOW)).toBe('e123');
    expect(() => verifyEcho(account, { signature: sig, timestamp: ts, nonce: 'n2', echostr: 'e' }, NOW)).toThrow(CallbackRefused);

    for (const encrypt of [false, true]) {
      const { query, body } = buildInbound(
        account,
        { ToUserName: 'gh', FromUserName: 'o1', CreateTime: 1, MsgType: 'text', Content: 'hi', MsgId: '99' },
        NOW,
        encrypt,
      );
      const m = openMessage(account, query, body, NOW);
      expect(m.encrypted).toBe(encrypt);
      expect(m.fields.Content).toBe('hi');
      const wrapped = wrapReply(account, textReplyXml('o1', 'gh', 'yo', 1), encrypt, NOW);
      expect(openReply(account, wrapped)?.Content).toBe('yo');
      expect(() => openMessage(account, query, body, NOW + 400_000)).toThrow(/too old/);
      expect(() => openMessage({ ...account, token: 'other' }, query, body, NOW)).toThrow(/signature/);
    }
  });
});
