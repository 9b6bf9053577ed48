/**
 * A claim's UPDATE answers the row it wrote (RETURNING), so `claims.submit` needs no read of the
 * volunteer after its commit (issue 15: one statement less per claim). The answered row must be
 * what a read would see, and nothing when the volunteer had already claimed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { createRecipientsRepo } from '../../src/modules/certificates/recipients-repo.js';
import { ADMIN, v2Api } from './helpers.js';

describe.each(testDialects())('submitName on %s', (dialect) => {
  let t: TestApp;
  const api = v2Api(() => t, '');
  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
  });
  afterAll(async () => t?.close());

  it('answers the row as written, and nothing for a volunteer past 1', async () => {
    await api('POST', '/api/addUserData', { token: ADMIN, email: ['row1@example.org,NO-1', 'row2@example.org'] });
    const repo = createRecipientsRepo(t.core.handle);
    const id = Number(
      (await t.core.db.selectFrom('recipients').select('id').where('email', '=', 'row1@example.org').executeTakeFirstOrThrow()).id,
    );
    const row = await repo.submitName(id, '名字 Name', 'cert-id-0000000000001', 1_700_000_000_000, 1_700_000_000_500);
    expect(row).toBeTruthy();
    expect(row).toEqual(await repo.findById(id));
    expect(row).toMatchObject({ name: '名字 Name', status: 2, certificate_id: 'cert-id-0000000000001', failure: null });
    expect(await repo.submitName(id, 'Again', 'cert-id-0000000000002', 1, 2)).toBeUndefined();
    expect((await repo.findById(id))!.name).toBe('名字 Name');
  });
});
