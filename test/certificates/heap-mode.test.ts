/**
 * Issue 15 (claims at 150/s, the memory targets met): the deliver job runs the heap in speed mode
 * (heap-mode.ts `preferSpeed`: V8's own heap growing while certificates are delivered), and a
 * notice batch holds size mode (`--optimize-for-size`) while it sends, whatever a claim asked.
 * The heap is managed here as the service's entry manages it (`manageHeap`), and put back after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { heapMode, holdSize, manageHeap, preferSpeed } from '../../src/platform/heap-mode.js';
import { ADMIN, parseMail, seedPost, tokenFromNotice, uploadTemplate, waitFor, whiteTemplate } from './helpers.js';

describe('heap mode around sends and claims', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let base: string;
  let unmanage: () => void;
  beforeAll(async () => {
    unmanage = manageHeap();
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect: 'sqlite', env: { SMTP_URL: smtp.url, PUBLIC_URL: 'http://vh.test' } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    unmanage?.();
  });

  it('a send batch ends speed mode; a delivered certificate starts it', async () => {
    expect((await seedPost(t, '/api/addUserData', { token: ADMIN, email: ['heap@example.org,NO-1'] })).body.code).toBe(0);
    expect((await uploadTemplate(base, whiteTemplate(750, 1200))).body.code).toBe(0);

    preferSpeed();
    expect(heapMode()).toBe('speed');
    expect((await seedPost(t, '/api/email', { token: ADMIN, action: 'send' })).body.code).toBe(0);
    await waitFor(() => smtp.received.length === 1, 20_000, 'the notice');
    // Within SPEED_LINGER_MS of preferSpeed: only the batch's hold can have ended speed mode.
    expect(heapMode()).toBe('size');

    const token = tokenFromNotice((await parseMail(smtp.received[0].raw)).html ?? '')!;
    expect((await seedPost(t, '/api/submitUserInfo', { token, name: 'Heap Mode' })).body.code).toBe(0);
    await waitFor(() => smtp.received.length === 2, 20_000, 'the certificate');
    expect(heapMode()).toBe('speed');
  });

  it('an import of volunteers starts speed mode', async () => {
    holdSize()(); // size mode, as at start-up
    expect(heapMode()).toBe('size');
    const email = Array.from({ length: 50 }, (_, i) => `import${i}@example.org`);
    expect((await seedPost(t, '/api/addUserData', { token: ADMIN, email })).body.code).toBe(0);
    expect(heapMode()).toBe('speed');
  });
});
