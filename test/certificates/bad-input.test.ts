/**
 * Must-show 4: bad input on every endpoint (malformed JSON, wrong types, missing fields, huge
 * bodies, a text file as template, a 30000x30000 PNG header, bad names, SQL and script fragments)
 * gets a clear non-zero code in the seed envelope (HTTP 200), changes nothing, never a 500.
 */
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { ADMIN, seedGet, seedPost, uploadTemplate, whiteTemplate } from './helpers.js';

/** A PNG that is only a valid signature and IHDR chunk claiming the given size. */
function pngHeader(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(100))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const SQL = ["' OR '1'='1", "x'); DROP TABLE recipients; --", '1; DELETE FROM campaigns'];
const SCRIPT = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>'];

describe.each(testDialects())('certificates: bad input on %s', (dialect) => {
  let t: TestApp;
  let base: string;
  let token: string;

  async function snapshot(): Promise<string> {
    // Everything the organizer or volunteer gave or sees (the background search indexer's
    // bookkeeping is in a table of its own, migration 1480).
    const r = await t.core.db.selectFrom('recipients').selectAll().orderBy('id').execute();
    const c = await t.core.db.selectFrom('campaigns').selectAll().orderBy('id').execute();
    return JSON.stringify([r, c]);
  }

  /** Runs a seed call and checks: HTTP 200, non-zero code, a message, nothing changed. */
  async function refused(call: () => Promise<{ status: number; body: { code: number; message: string } }>, code?: number) {
    const before = await snapshot();
    const res = await call();
    expect(res.status).toBe(200);
    expect(res.body.code).not.toBe(0);
    if (code !== undefined) expect(res.body.code).toBe(code);
    expect(res.body.message.length).toBeGreaterThan(3);
    expect(res.body.message).not.toMatch(/at .*\.ts:\d+/);
    expect(await snapshot()).toBe(before);
    return res.body;
  }

  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
    base = await t.listen();
    await seedPost(t, '/api/addUserData', { token: ADMIN, email: ['vol@example.org,NO-1'] });
    // Give the volunteer a link token the way the send job does.
    const { hashToken } = await import('../../src/platform/crypto/tokens.js');
    token = 'A'.repeat(43);
    await t.core.db
      .updateTable('recipients')
      .set({ token_hash: hashToken(token), status: 1 })
      .where('email', '=', 'vol@example.org')
      .execute();
  });
  afterAll(async () => t?.close());

  it('getUserInfo: missing, unknown, huge, SQL and script tokens', async () => {
    await refused(() => seedGet(t, '/api/getUserInfo'), 2);
    await refused(() => seedGet(t, '/api/getUserInfo?token='), 2);
    await refused(() => seedGet(t, `/api/getUserInfo?token=${'x'.repeat(20_000)}`));
    for (const s of [...SQL, ...SCRIPT]) await refused(() => seedGet(t, `/api/getUserInfo?token=${encodeURIComponent(s)}`), 2);
  });

  it('submitUserInfo: malformed JSON, wrong types, missing fields, huge bodies', async () => {
    for (const url of ['/api/submitUserInfo', '/api/submitUserinfo']) {
      await refused(() => seedPost(t, url, '{"token": "abc", "name": '));
      await refused(() => seedPost(t, url, 'not json at all'));
      await refused(() => seedPost(t, url, { token: 12, name: ['x'] }));
      await refused(() => seedPost(t, url, { name: 'Alice' }), 2);
      await refused(() => seedPost(t, url, { token }), 1);
      await refused(() => seedPost(t, url, { token, name: 'x'.repeat(3 * 1024 * 1024) }));
      await refused(() => seedPost(t, url, []));
      await refused(() => seedPost(t, url, 'null'));
    }
  });

  it('submitUserInfo: names empty, whitespace, 500 characters, control characters, emoji, SQL and script', async () => {
    const names = [
      '',
      '   ',
      '\t\n',
      'a'.repeat(500),
      'Ali\u0000ce',
      'Ali\u0007ce',
      'Bob\u202e',
      '🦄🦄',
      '\uD800',
      ...SCRIPT,
      SQL[1],
      SQL[2],
    ];
    for (const name of names) {
      const body = await refused(() => seedPost(t, '/api/submitUserInfo', { token, name }), 1);
      expect(body.message).toMatch(/name|character|long|empty/i);
    }
    // Also on the v2 claim endpoint, with 422 and the reason.
    const res = await t.app.inject({ method: 'POST', url: '/api/v2/certificates/claim', payload: { token, name: '🦄' } });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'name_refused' });
  });

  it('addUserData: wrong admin token, wrong types, missing fields, huge body, SQL and script lines', async () => {
    await refused(() => seedPost(t, '/api/addUserData', { token: 'wrong', email: ['new@example.org'] }), 1);
    await refused(() => seedPost(t, '/api/addUserData', { email: ['new@example.org'] }), 1);
    await refused(() => seedPost(t, '/api/addUserData', { token: ADMIN }), 1);
    await refused(() => seedPost(t, '/api/addUserData', { token: ADMIN, email: 'new@example.org' }), 1);
    await refused(() => seedPost(t, '/api/addUserData', { token: ADMIN, email: [1, 2] }), 1);
    await refused(() => seedPost(t, '/api/addUserData', '{"token": "test-admin-token", "email": ["a@b.org"'), 1);
    await refused(() => seedPost(t, '/api/addUserData', { token: ADMIN, email: ['x'.repeat(20 * 1024 * 1024)] }), 1);
    // Only bad lines: the seed answers an import with code 0 and the report (issue 12 item 7); nothing is added.
    const before = await snapshot();
    const only = await seedPost(t, '/api/addUserData', { token: ADMIN, email: [...SQL, ...SCRIPT, 'a\u0000@b.org'] });
    expect(only.body).toMatchObject({ code: 0, data: { added: 0 }, message: expect.stringMatching(/no volunteer added/) });
    expect((only.body as unknown as { data: { rejected: unknown[] } }).data.rejected).toHaveLength(SQL.length + SCRIPT.length + 1);
    expect(await snapshot()).toBe(before);
    await refused(() => seedPost(t, '/api/addUserData', { token: ADMIN, email: ['new@example.org'], campaign: "default' OR 1=1" }), 1);
  });

  it('uploadImage: no token, wrong token, a text file, a 30000x30000 PNG header, wrong field, not multipart, too large', async () => {
    const ok = whiteTemplate(100, 100);
    await refused(() => uploadTemplate(base, ok, ''), 1);
    await refused(() => uploadTemplate(base, ok, 'wrong'), 1);
    const text = await refused(
      () => uploadTemplate(base, Buffer.from('hello, this is not an image\n'.repeat(50)), ADMIN, 'template.png'),
      1,
    );
    expect(text.message).toMatch(/template rejected/);
    const huge = await refused(() => uploadTemplate(base, pngHeader(30000, 30000), ADMIN), 1);
    expect(huge.message).toMatch(/pixel|large|dimension/i);
    await refused(() => uploadTemplate(base, ok, ADMIN, 'x.png', 'image'), 1);
    await refused(() => seedPost(t, '/api/uploadImage', { template: 'abc' }, { token: ADMIN }), 1);
    const big = Buffer.concat([ok, Buffer.alloc(21 * 1024 * 1024)]);
    await refused(() => uploadTemplate(base, big, ADMIN), 1);
  });

  it('updateOrgConfig: wrong types, bad positions, script and SQL fragments, bad username', async () => {
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: 'nope', name: 'X' }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', '{"token":'), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, name: 42 }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, name_horizontal_pos: 'left' }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, name_vertical_pos: '1e9' }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, website: SCRIPT[1] }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, username: SQL[0] }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, username: 'nobody@nowhere' }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, smtp_host: 'a b; rm -rf' }), 1);
    await refused(() => seedPost(t, '/api/updateOrgConfig', { token: ADMIN, name: 'x'.repeat(5000) }), 1);
  });

  it('email: wrong token, bad action, missing action', async () => {
    await refused(() => seedPost(t, '/api/email', { token: 'nope', action: 'query' }), 1);
    await refused(() => seedPost(t, '/api/email', { token: ADMIN, action: 'DROP TABLE' }), 1);
    await refused(() => seedPost(t, '/api/email', { token: ADMIN }), 1);
    await refused(() => seedPost(t, '/api/email', { token: ADMIN, action: 'send', campaign: 'nope' }), 1);
  });

  it('v2: no token 401, bad bodies 400, unknown ids 404, never a 500', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const before = await snapshot();
    expect((await t.app.inject({ method: 'GET', url: '/api/v2/certificates/campaigns' })).statusCode).toBe(401);
    const cases: [string, string, unknown, number][] = [
      ['PATCH', '/api/v2/certificates/campaigns/default', { layout: { name: { size: 'big' } } }, 400],
      ['PATCH', '/api/v2/certificates/campaigns/default', { unknownField: 1 }, 400],
      ['PATCH', '/api/v2/certificates/campaigns/default', { claimUrl: 'javascript:alert(1)' }, 400],
      ['PATCH', '/api/v2/certificates/campaigns/nope', { name: 'x' }, 404],
      ['POST', '/api/v2/certificates/campaigns', { name: '' }, 400],
      ['POST', '/api/v2/certificates/campaigns', { name: 'x', slug: "a'; drop" }, 400],
      ['POST', '/api/v2/certificates/campaigns/default/recipients', { lines: 'a@b.org' }, 400],
      ['POST', '/api/v2/certificates/campaigns/default/recipients/999999/reset', undefined, 404],
      ['GET', '/api/v2/certificates/campaigns/default/recipients?limit=100000', undefined, 400],
      ['POST', '/api/v2/certificates/campaigns/default/mail/test', { to: 'not an email' }, 400],
    ];
    for (const [method, url, payload, status] of cases) {
      const res = await t.app.inject({
        method: method as 'GET',
        url,
        headers: { ...auth, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
        payload: payload === undefined ? undefined : JSON.stringify(payload),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(status);
      expect(typeof res.json().message).toBe('string');
    }
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v2/certificates/campaigns',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(bad.statusCode).toBe(400);
    expect(await snapshot()).toBe(before);
  });

  it('rate limits wrong admin tokens per address', async () => {
    let last = await seedPost(t, '/api/email', { token: 'wrong-0', action: 'query' });
    for (let i = 1; i < 12; i++) last = await seedPost(t, '/api/email', { token: `wrong-${i}`, action: 'query' });
    expect(last.body.code).toBe(1);
    expect(last.body.message).toMatch(/too many/);
    // Even the right token is refused while the address is blocked.
    expect((await seedPost(t, '/api/email', { token: ADMIN, action: 'query' })).body.message).toMatch(/too many/);
    const v2 = await t.app.inject({ method: 'GET', url: '/api/v2/certificates/session', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(v2.statusCode).toBe(429);
  });
});
