/** The shared accounts service (used by other modules): users, passwords, sessions. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { createAccountsService, DuplicateUserError, type AccountsService } from '../../src/modules/accounts/index.js';

describe.each(testDialects())('accounts service on %s', (dialect) => {
  let t: TestApp;
  let svc: AccountsService;
  let clock = Date.now();
  beforeAll(async () => {
    t = await startTestApp({ dialect, startJobs: false });
    svc = createAccountsService({ db: t.core.db, dialect: t.core.dialect, now: () => clock });
  });
  afterAll(async () => t?.close());

  it('creates members, refuses duplicates, verifies passwords without leaking the hash', async () => {
    const m = await svc.createUser({
      username: 'svc-alice',
      email: 'Alice@Example.org',
      password: 'correct horse battery',
      isActive: true,
    });
    expect(m).toMatchObject({ username: 'svc-alice', email: 'alice@example.org', isActive: true, hasPassword: true });
    expect(JSON.stringify(m)).not.toContain('argon2');
    await expect(svc.createUser({ username: 'svc-alice', password: 'x'.repeat(10) })).rejects.toBeInstanceOf(DuplicateUserError);
    await expect(svc.createUser({ username: 'svc-other', email: 'ALICE@example.org' })).rejects.toMatchObject({ field: 'email' });
    expect((await svc.verifyPassword('svc-alice', 'correct horse battery'))?.id).toBe(m.id);
    expect((await svc.verifyPassword('alice@example.org', 'correct horse battery'))?.id).toBe(m.id);
    expect(await svc.verifyPassword('svc-alice', 'wrong password')).toBeNull();
    expect(await svc.verifyPassword('nobody', 'correct horse battery')).toBeNull();
    // A member without a password (e.g. WeChat only) cannot log in by password.
    const w = await svc.createUser({ username: 'svc-wechat', isActive: true });
    expect(w.hasPassword).toBe(false);
    expect(await svc.verifyPassword('svc-wechat', '')).toBeNull();
  });

  it('issues sessions stored by hash, resolves by kind, expires and revokes them', async () => {
    const m = (await svc.findByUsername('svc-alice'))!;
    const a = await svc.createSession(m.id, 'web');
    const b = await svc.createSession(m.id, 'autoreply', { ttlMs: 60_000 });
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await t.core.db.selectFrom('sessions').select('token_hash').execute();
    expect(stored.map((s) => s.token_hash)).not.toContain(a.token);
    expect((await svc.resolveSession(a.token))?.user.username).toBe('svc-alice');
    expect(await svc.resolveSession(a.token, 'autoreply')).toBeNull();
    expect((await svc.resolveSession(b.token, 'autoreply'))?.kind).toBe('autoreply');
    expect(await svc.resolveSession('not-a-token')).toBeNull();
    clock += 61_000;
    expect(await svc.resolveSession(b.token)).toBeNull();
    const c = await svc.createSession(m.id, 'web');
    const kept = (await svc.resolveSession(c.token))!;
    expect(await svc.revokeSessions(m.id, { exceptSessionId: kept.sessionId })).toBe(2);
    expect(await svc.resolveSession(a.token)).toBeNull();
    expect(await svc.resolveSession(c.token)).not.toBeNull();
    expect(await svc.revokeSession(c.token)).toBe(true);
    expect(await svc.resolveSession(c.token)).toBeNull();
  });
});
