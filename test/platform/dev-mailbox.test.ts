/**
 * The dev mailbox through the real app: with no SMTP configured, mail (sent or enqueued) lands in
 * the dev mailbox and the API lists, shows, serves raw messages and attachments, with the admin token only;
 * with SMTP configured the API does not exist.
 */
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { waitFor } from './helpers.js';

const ADMIN = { authorization: 'Bearer test-admin-token' };
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

describe.each(testDialects())('dev mailbox on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ dialect });
  });
  afterAll(async () => t?.close());

  it('stores sent and enqueued mail and serves it over the API', async () => {
    expect(t.core.mailer.isDevMailbox).toBe(true);
    await t.core.mailer.send({
      to: 'ana@example.org',
      subject: 'Your certificate',
      html: '<p>Hello Ana, <a href="http://localhost/c?t=secret">claim</a></p>',
      text: 'Hello Ana',
      messageId: '<cert.1@volunteer-hub.test>',
      attachments: [{ filename: 'certificate.png', contentType: 'image/png', content: PNG }],
    });
    await t.core.mailer.enqueue({
      to: 'bo@example.org',
      subject: 'Activate',
      html: '<p>Code</p>',
      messageId: '<act.2@volunteer-hub.test>',
    });

    const list = await waitFor(
      async () => {
        const res = await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail', headers: ADMIN });
        expect(res.statusCode).toBe(200);
        const body = res.json();
        return body.items.length === 2 ? body : undefined;
      },
      10_000,
      'two messages',
    );
    expect(list.items.map((m: { to: string }) => m.to)).toEqual(['bo@example.org', 'ana@example.org']);
    const ana = list.items[1];
    expect(ana).toMatchObject({ subject: 'Your certificate', messageId: '<cert.1@volunteer-hub.test>', attachments: 1 });
    expect(list.items[0].attachments).toBe(0);

    const page = (await t.app.inject({ method: 'GET', url: `/api/v2/dev/mail?limit=1&before=${list.items[0].id}`, headers: ADMIN })).json();
    expect(page.items.map((m: { id: number }) => m.id)).toEqual([ana.id]);

    const detail = (await t.app.inject({ method: 'GET', url: `/api/v2/dev/mail/${ana.id}`, headers: ADMIN })).json();
    expect(detail).toMatchObject({ subject: 'Your certificate', to: 'ana@example.org', messageId: '<cert.1@volunteer-hub.test>' });
    expect(detail.html).toContain('claim');
    expect(detail.attachments).toEqual([{ index: 0, filename: 'certificate.png', contentType: 'image/png', size: PNG.length }]);

    const raw = await t.app.inject({ method: 'GET', url: `/api/v2/dev/mail/${ana.id}/raw`, headers: ADMIN });
    expect(raw.headers['content-type']).toMatch(/^message\/rfc822/);
    expect((await PostalMime.parse(raw.rawPayload)).messageId).toBe('<cert.1@volunteer-hub.test>');

    const att = await t.app.inject({ method: 'GET', url: `/api/v2/dev/mail/${ana.id}/attachments/0`, headers: ADMIN });
    expect(att.statusCode).toBe(200);
    expect(att.headers['content-type']).toBe('image/png');
    expect(att.rawPayload).toEqual(PNG);
  });

  it('answers bad ids and missing messages with JSON errors', async () => {
    const bad = await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail/abc', headers: ADMIN });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('bad_request');
    const missing = await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail/999999', headers: ADMIN });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'not_found' });
    const noAtt = await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail/999999/attachments/3', headers: ADMIN });
    expect(noAtt.statusCode).toBe(404);
    const badLimit = await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail?limit=100000', headers: ADMIN });
    expect(badLimit.statusCode).toBe(400);
  });

  it('documents the API in the OpenAPI page', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json', headers: ADMIN })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v2/dev/mail',
        '/api/v2/dev/mail/{id}',
        '/api/v2/dev/mail/{id}/raw',
        '/api/v2/dev/mail/{id}/attachments/{index}',
      ]),
    );
    expect(doc.paths['/api/v2/dev/mail'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'before']),
    );
  });

  it('serves holders of the admin token only, wherever they are', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail', remoteAddress: '127.0.0.1' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('unauthorized');
    const del = await t.app.inject({ method: 'DELETE', url: '/api/v2/dev/mail', remoteAddress: '127.0.0.1' });
    expect(del.statusCode).toBe(401);
    const remote = await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail', remoteAddress: '203.0.113.9', headers: ADMIN });
    expect(remote.statusCode).toBe(200);
  });

  it('empties the mailbox', async () => {
    const del = await t.app.inject({ method: 'DELETE', url: '/api/v2/dev/mail', headers: ADMIN });
    expect(del.statusCode).toBe(200);
    expect(del.json().deleted).toBeGreaterThanOrEqual(2);
    expect((await t.app.inject({ method: 'GET', url: '/api/v2/dev/mail', headers: ADMIN })).json().items).toEqual([]);
  });

  it('does not exist when SMTP is configured', async () => {
    const other = await startTestApp({ dialect, env: { SMTP_URL: 'smtp://127.0.0.1:9' }, startJobs: false });
    try {
      expect(other.core.mailer.isDevMailbox).toBe(false);
      const res = await other.app.inject({ method: 'GET', url: '/api/v2/dev/mail', headers: ADMIN });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('not_found');
    } finally {
      await other.close();
    }
  });
});
