/**
 * Every answer of GET /api/getUserInfo, the volunteers' hot path (issue 15: on a SQLite file it
 * is answered synchronously on the reader, elsewhere through promises; both must say the same):
 * found (unclaimed, claimed, failed delivery), unknown, malformed, rate limited (a right link too,
 * from that client only), a database failure: the seed's envelope, HTTP 200, never a 500.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/platform/crypto/tokens.js';
import { TOKEN_MISSES_PER_MINUTE } from '../../src/modules/certificates/claims.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { insertCampaign } from '../helpers/campaigns.js';

describe.each(testDialects())('getUserInfo, every answer (%s)', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
    const db = t.core.db;
    const now = Date.now();
    const campaignId = await insertCampaign(db, 'gui-answers', 'G', now);
    const row = (email: string, token: string, status: number, extra: object = {}) => ({
      campaign_id: campaignId,
      email,
      token_hash: hashToken(token),
      status,
      created_at: now,
      updated_at: now,
      ...extra,
    });
    await db
      .insertInto('recipients')
      .values([
        row('open@example.org', 'link-open-0001', 1),
        row('named@example.org', 'link-named-0001', 1, { name: '李 "Quote" \\ Back' }),
        row('sending@example.org', 'link-sending-0001', 2, { name: 'S' }),
        row('sent@example.org', 'link-sent-0001', 4, { name: 'T' }),
        row('failed@example.org', 'link-failed-0001', 3, { name: 'F', failure: 'mailbox full' }),
      ] as never)
      .execute();
  });
  afterAll(async () => t?.close());

  const get = async (query: string, ip = '10.30.0.1') => {
    const res = await t.app.inject({ method: 'GET', url: `/api/getUserInfo${query}`, remoteAddress: ip });
    return { status: res.statusCode, type: res.headers['content-type'], body: res.json() };
  };

  it('a link found: code 0 with both spellings, the name escaped', async () => {
    expect(await get('?token=link-open-0001')).toEqual({
      status: 200,
      type: 'application/json; charset=utf-8',
      body: { code: 0, data: { email: 'open@example.org', name: '', Email: 'open@example.org', Name: '' }, message: 'success' },
    });
    const named = await get('?token=link-named-0001');
    expect(named.body.data).toEqual({
      email: 'named@example.org',
      name: '李 "Quote" \\ Back',
      Email: 'named@example.org',
      Name: '李 "Quote" \\ Back',
    });
  });

  it('a claimed link: 3 while sending and once sent, 4 when the mail failed', async () => {
    expect((await get('?token=link-sending-0001')).body).toMatchObject({ code: 3, data: null });
    expect((await get('?token=link-sent-0001')).body).toMatchObject({ code: 3, data: null });
    const failed = await get('?token=link-failed-0001');
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ code: 4, data: null });
    expect(failed.body.message).toContain('mailbox full');
  });

  it('unknown, missing, empty, too long and repeated tokens: code 2', async () => {
    for (const q of ['?token=no-such-link', '', '?token=', `?token=${'x'.repeat(201)}`, '?token=a&token=b']) {
      const r = await get(q, '10.30.0.2');
      expect(r.status, q).toBe(200);
      expect(r.body, q).toMatchObject({ code: 2, data: null });
    }
  });

  it('past the misses per minute every answer from that client is refused, a right link too; another client is answered', async () => {
    for (let i = 0; i < TOKEN_MISSES_PER_MINUTE; i++) expect((await get(`?token=guess-${i}`, '10.30.0.3')).body.code).toBe(2);
    for (const q of ['?token=guess-more', '?token=link-open-0001']) {
      const r = await get(q, '10.30.0.3');
      expect(r.status, q).toBe(200);
      expect(r.body, q).toMatchObject({ code: 1, data: null });
      expect(r.body.message, q).toMatch(/too many unknown links/);
    }
    expect((await get('?token=link-open-0001', '10.30.0.4')).body.code).toBe(0);
  });

  it('a database failure: the envelope, HTTP 200, no stack (last: it breaks the table)', async () => {
    await sql`ALTER TABLE recipients RENAME TO recipients_gone`.execute(t.core.db);
    const r = await get('?token=link-open-0001', '10.30.0.5');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ code: 4, data: null });
    expect(r.body.message).toMatch(/internal error/);
    expect(JSON.stringify(r.body)).not.toMatch(/at .*\.ts:\d+|recipients|SQLITE|relation/);
  });
});
