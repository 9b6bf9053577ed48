/**
 * Issue 11, item 1 on SQLite: a write that stays locked out past the busy timeout (another
 * process holds the write lock: SQLITE_BUSY) is answered 503 in the API's own envelope, not a
 * 500; and which errors count as "the database is unavailable" in either dialect.
 */
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { databaseUnavailableReason } from '../../src/platform/http/errors.js';

describe('SQLite busy past the timeout (issue 11.1)', { timeout: 60_000 }, () => {
  let t: TestApp;
  let other: SQLite.Database;
  beforeAll(async () => {
    t = await startTestApp({ dialect: 'sqlite', env: { MINIPROGRAM_TRUST_CLIENT_OPENID: 'true' } });
    if (t.config.database.dialect !== 'sqlite') throw new Error('unreachable');
    other = new SQLite(t.config.database.file);
  });
  afterAll(async () => {
    if (other?.inTransaction) other.exec('ROLLBACK');
    other?.close();
    await t?.close();
  });

  it('answers 503 with Retry-After in the v2 and the seed envelopes while another connection holds the write lock', async () => {
    other.exec('BEGIN IMMEDIATE');
    try {
      const v2 = await t.app.inject({
        method: 'POST',
        url: '/api/v2/certificates/campaigns',
        headers: { authorization: 'Bearer test-admin-token' },
        payload: { name: 'Spring' },
      });
      expect(v2.statusCode).toBe(503);
      expect(Number(v2.headers['retry-after'])).toBeGreaterThan(0);
      expect(v2.json()).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/temporarily unavailable/) });

      const mp = await t.app.inject({
        method: 'POST',
        url: '/service/user/login',
        payload: { openid: 'o-busy-openid-000001', phone: '13333333333', qq: '12345', cardno: '123456' },
      });
      expect(mp.statusCode, mp.body).toBe(503);
      expect(mp.json()).toMatchObject({ code: -2, msg: expect.stringMatching(/temporarily unavailable/), data: null });
    } finally {
      other.exec('ROLLBACK');
    }
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v2/certificates/campaigns',
      headers: { authorization: 'Bearer test-admin-token' },
      payload: { name: 'Spring' },
    });
    expect(ok.statusCode).toBe(201);
  });
});

describe('databaseUnavailableReason', () => {
  const err = (props: Record<string, unknown>) => Object.assign(new Error(typeof props.message === 'string' ? props.message : 'x'), props);
  it.each([
    ['pg_terminate_backend', err({ code: '57P01', message: 'terminating connection due to administrator command' })],
    ['a reset socket', err({ code: 'ECONNRESET', message: 'read ECONNRESET' })],
    ['a refused connection', err({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' })],
    ['a connection ended mid-query', err({ message: 'Connection terminated unexpectedly' })],
    ['the pool timing out', err({ message: 'timeout exceeded when trying to connect' })],
    ['too many connections', err({ code: '53300', message: 'sorry, too many clients already' })],
    ['ALLOW_CONNECTIONS false', err({ code: '55000', message: 'database "x" is not currently accepting connections' })],
    ['SQLITE_BUSY', err({ code: 'SQLITE_BUSY', message: 'database is locked' })],
    ['a wrapped cause', err({ message: 'migration failed', cause: err({ code: '57P01' }) })],
  ])('counts %s', (_name, e) => {
    expect(databaseUnavailableReason(e)).toBeTruthy();
  });
  it.each([
    ['a unique violation', err({ code: '23505', message: 'duplicate key' })],
    ['a syntax error', err({ code: '42601', message: 'syntax error' })],
    ['other 55000s', err({ code: '55000', message: 'currval of sequence "s" is not yet defined in this session' })],
    ['a constraint on SQLite', err({ code: 'SQLITE_CONSTRAINT_UNIQUE', message: 'UNIQUE constraint failed' })],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ])('does not count %s', (_name, e) => {
    expect(databaseUnavailableReason(e)).toBeUndefined();
  });
});
