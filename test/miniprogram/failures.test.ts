/** An unexpected failure (here: a table gone) is the endpoint's "other error" code, never a 500 or a stack. */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startMpApp, type MpTestApp } from './helpers.js';

describe.each(testDialects())('miniprogram unexpected failures (%s)', (dialect) => {
  let t: MpTestApp;
  beforeAll(async () => {
    t = await startMpApp(dialect);
  });
  afterAll(async () => t?.close());

  it('answers -3 for get and -2 for the others, with the request id, HTTP 200', async () => {
    const tok = await t.openSession('oBroken');
    await sql`DROP TABLE miniprogram_profiles`.execute(t.core.db);
    await sql`DROP TABLE miniprogram_history`.execute(t.core.db);
    for (const [name, code] of [
      ['get', -3],
      ['loginByOpenid', -2],
      ['getHistory', -2],
      ['addHistory', -2],
    ] as const) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/service/user/${name}`,
        payload: { openid: 'oBroken', token: tok, ...(name === 'addHistory' ? { hist: 'x' } : {}) },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.code, name).toBe(code);
      // The request id (platform/http/request-id.ts): a per-process prefix and a counter.
      expect(body.msg).toMatch(/internal error \(request [A-Za-z0-9_-]{12}-[0-9a-z]+\)/);
      expect(body.data).toBeNull();
      expect(res.body).not.toMatch(/at .*\.ts:\d+|miniprogram_profiles|SQLITE|relation/);
    }
  });
});
