/**
 * Issue 10 item 14: an unactivated registration expires (its email and username become free), usernames
 * are unique regardless of case (existing clashes migrated safely), and /password/new checks the
 * ticket first, inside the rate limit, before saying anything that depends on the email.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, sql, type Migration } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from '../accounts/helpers.js';
import { openDatabase } from '../../src/platform/db/index.js';
import { createAccountsService } from '../../src/modules/accounts/index.js';
import { collectMigrations, migrateToLatest } from '../../src/platform/db/migrate.js';
import { modules } from '../../src/app.js';

const PW = 'Tarnished-Ocelot-Quarry-42';
const HOUR = 3600_000;

describe.each(testDialects())('accounts: squatting, name case, reset order (%s)', (dialect) => {
  let env: AccountsTestEnv;
  const clock = { t: Date.UTC(2026, 6, 1) };
  beforeAll(async () => {
    env = await startAccountsEnv(dialect, { now: () => clock.t });
  });
  afterAll(async () => env?.close());

  const register = (username: string, email: string, ip = '10.70.0.1') =>
    env.call('POST', '/v1/users', { body: { username, email, password1: PW, password2: PW }, ip });

  it('frees the email and username of a registration never activated once it expires', async () => {
    expect((await register('squatter', 'victim@example.org')).code).toBe(200);
    clock.t += 2 * HOUR;
    expect((await register('realowner', 'victim@example.org', '10.70.0.2')).code).toBe(10126);
    expect((await register('squatter', 'other@example.org', '10.70.0.2')).code).toBe(10127);
    clock.t += 23 * HOUR;
    // The activation link (24 h) has expired, unused: the registration is gone.
    expect((await register('realowner', 'victim@example.org', '10.70.0.3')).code).toBe(200);
    expect((await register('squatter', 'other@example.org', '10.70.0.3')).code).toBe(200);
    // The assistant's registration (the shared accounts service) frees an expired one too.
    expect((await register('heldname', 'held@example.org', '10.70.0.4')).code).toBe(200);
    const svc = createAccountsService({ db: env.t.core.db, dialect: env.t.core.dialect, now: () => clock.t });
    await expect(svc.createUser({ username: 'HeldName', password: PW, isActive: true })).rejects.toThrow(/username/);
    clock.t += 25 * HOUR;
    expect((await svc.createUser({ username: 'HeldName', password: PW, isActive: true })).username).toBe('HeldName');
  });

  it('keeps usernames unique regardless of case, and signs in by any case', async () => {
    expect((await register('Alice', 'alice@example.org', '10.71.0.1')).code).toBe(200);
    expect(await register('alice', 'alice2@example.org', '10.71.0.2')).toMatchObject({ code: 10127 });
    expect(await register('ALICE', 'alice3@example.org', '10.71.0.3')).toMatchObject({ code: 10127 });
    await env.t.core.db.updateTable('users').set({ is_active: 1 }).where('email', '=', 'alice@example.org').execute();
    expect(await env.call('POST', '/v1/tokens', { body: { username: 'aLiCe', password: PW }, ip: '10.71.0.4' })).toMatchObject({
      code: 200,
      username: 'Alice',
    });
  });

  it('checks the reset ticket before the password policy, inside the limit', async () => {
    const m = await env.member('resetme', 'Velvet-Harbor-Kettle-93');
    const attempt = (email: string, i: number) =>
      env.call('POST', '/v1/users/password/new', {
        body: { email, ticket: `forged-ticket-${String(i).padStart(30, '0')}`, password1: 'resetme', password2: 'resetme' },
        ip: '10.72.0.1',
      });
    // A known email and an unknown one answer alike: the forged ticket, not "the password is the username".
    const known = await attempt(m.email, 0);
    const unknown = await attempt('nobody-here@example.org', 1);
    expect(known).toMatchObject({ code: 10112 });
    expect(unknown).toEqual({ ...known });
    const answers = [];
    for (let i = 2; i < 40; i++) answers.push((await attempt(m.email, i)).code);
    expect(answers).toContain(10131);
    expect(answers.filter((c) => c === 10112).length).toBeLessThanOrEqual(28);
  });
});

describe.each(testDialects())('the migration to case-insensitive usernames (%s)', (dialect) => {
  it('keeps every existing member, renaming later clashes, then refuses new ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vh-mig-'));
    const database = await createTestDatabase(dialect, dir);
    const h = openDatabase(database.config);
    try {
      const before: Record<string, Migration> = Object.fromEntries(
        Object.entries(collectMigrations(modules)).filter(([name]) => name < '2003'),
      );
      const m = new Migrator({ db: h.db, provider: { getMigrations: async () => before }, allowUnorderedMigrations: true });
      const r = await m.migrateToLatest();
      expect(r.error).toBeUndefined();
      const t = Date.now();
      for (const [username, active] of [
        ['Bob', 0],
        ['bob', 1],
        ['BOB', 0],
        ['carol', 1],
      ] as const) {
        await sql`INSERT INTO users (username, email, password_hash, is_active, created_at, updated_at) VALUES (${username}, ${`${username}@x.org`}, NULL, ${active}, ${t}, ${t})`.execute(
          h.db,
        );
      }
      await migrateToLatest(h.db, modules);
      const rows = (
        await sql<{ id: number; username: string; is_active: number }>`SELECT id, username, is_active FROM users ORDER BY id`.execute(h.db)
      ).rows;
      expect(rows).toHaveLength(4);
      // The activated one keeps its name; the others get "<name>.<id>".
      expect(rows.map((x) => x.username)).toEqual([`Bob.${rows[0].id}`, 'bob', `BOB.${rows[2].id}`, 'carol']);
      await expect(
        sql`INSERT INTO users (username, email, password_hash, is_active, created_at, updated_at) VALUES ('CAROL', NULL, NULL, 0, ${t}, ${t})`.execute(
          h.db,
        ),
      ).rejects.toThrow();
    } finally {
      await h.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
