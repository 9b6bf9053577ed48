/**
 * No account enumeration through recovery: /v1/users/password/sms answers the same, in content
 * and in time, whether or not the address belongs to an account. Timing is measured over real
 * loopback HTTP, 200 requests each, interleaved, next to an A/A comparison (two halves of the
 * known sample) that shows the noise; the figures are printed and written to
 * test-output/accounts-enumeration-<dialect>.json. Tests assert no wall-clock figure (the machine
 * is shared): what is asserted is what makes the timing equal by construction: byte-identical
 * answers, and the account-dependent work done after the answer (a code row for every address,
 * a mail only for accounts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/platform/crypto/passwords.js';
import { testDialects } from '../helpers/db.js';
import { startAccountsEnv, type AccountsTestEnv } from './helpers.js';

const N = 200;

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return { median: q(0.5), mean, p90: q(0.9), sd };
}
const f = (n: number) => n.toFixed(3);

describe.each(testDialects())('accounts: no enumeration through /sms on %s', (dialect) => {
  let env: AccountsTestEnv;
  beforeAll(async () => {
    env = await startAccountsEnv(dialect, { env: { TRUST_PROXY: 'true' } });
    // 200 real accounts, inserted in one batch with one precomputed hash (fixture speed only).
    const hash = await hashPassword('a fine long passphrase');
    const t = Date.now();
    const rows = Array.from({ length: N }, (_, i) => ({
      username: `known${i}`,
      email: `known${i}@example.org`,
      password_hash: hash,
      is_active: 1,
      created_at: t,
      updated_at: t,
    }));
    await env.t.core.db.insertInto('users').values(rows).execute();
  });
  afterAll(async () => env?.close());

  // 400 real HTTP requests and their after-work on a shared machine: a generous timeout, not a speed bound.
  it('answers known and unknown addresses identically: content asserted, timing over 200 each measured and printed', async () => {
    const url = await env.t.listen();
    let client = 0;
    const post = async (email: string, i: number) => {
      // Each request from its own client address (behind a trusted proxy), as an attacker with
      // many addresses would; the per-IP limit is exercised separately below.
      client++;
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${url}/v1/users/password/sms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.1.${client >> 8}.${client & 255}` },
        body: JSON.stringify({ email }),
      });
      const body = await res.text();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const names: string[] = [];
      res.headers.forEach((_v, k) => names.push(k));
      return {
        status: res.status,
        body,
        ms,
        headers: names
          .filter((k) => k !== 'date' && k !== 'x-request-id' && k !== 'keep-alive')
          .sort()
          .join(','),
        i,
      };
    };
    // Warm up both paths (JIT, connection, statement caches).
    for (let i = 0; i < 10; i++) {
      await post(`warm${i}@example.org`, i);
    }
    const known: Awaited<ReturnType<typeof post>>[] = [];
    const unknown: Awaited<ReturnType<typeof post>>[] = [];
    // Waits until the after-answer work of a request (a code row, for any address) is done, so
    // each figure is its own path and not the previous request's leftovers.
    const settle = async (email: string) => {
      for (;;) {
        const row = await env.t.core.db.selectFrom('one_time_codes').select('id').where('email', '=', email).executeTakeFirst();
        if (row) return;
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    for (let i = 0; i < N; i++) {
      // Alternate which goes first so drift affects both equally.
      const pair =
        i % 2 === 0 ? [`known${i}@example.org`, `unknown${i}@example.org`] : [`unknown${i}@example.org`, `known${i}@example.org`];
      for (const email of pair) {
        const r = await post(email, i);
        (email.startsWith('known') ? known : unknown).push(r);
        await settle(email);
      }
    }
    // Content: every answer byte-identical, same status and same header names.
    const all = [...known, ...unknown];
    expect(new Set(all.map((r) => r.body))).toEqual(new Set(['{"code":200,"data":"邮件发送成功"}']));
    expect(new Set(all.map((r) => r.status))).toEqual(new Set([200]));
    expect(new Set(all.map((r) => r.headers)).size).toBe(1);

    const k = stats(known.map((r) => r.ms));
    const u = stats(unknown.map((r) => r.ms));
    // Noise floor: the same comparison between two halves of the known sample (an A/A test).
    const a = stats(known.filter((_, i) => i % 2 === 0).map((r) => r.ms));
    const b = stats(known.filter((_, i) => i % 2 === 1).map((r) => r.ms));
    process.stdout.write(
      `[${dialect}] /sms timing over ${N} requests each (ms):\n` +
        `  known   median ${f(k.median)} mean ${f(k.mean)} p90 ${f(k.p90)} sd ${f(k.sd)}\n` +
        `  unknown median ${f(u.median)} mean ${f(u.mean)} p90 ${f(u.p90)} sd ${f(u.sd)}\n` +
        `  known-unknown: median ${f(k.median - u.median)} mean ${f(k.mean - u.mean)}; ` +
        `A/A noise (known halves): median ${f(a.median - b.median)} mean ${f(a.mean - b.mean)}\n`,
    );
    mkdirSync('test-output', { recursive: true });
    writeFileSync(
      `test-output/accounts-enumeration-${dialect}.json`,
      JSON.stringify({ n: N, known: k, unknown: u, diffMedianMs: k.median - u.median, aaNoiseMedianMs: a.median - b.median }, null, 2),
    );
    // Every address got its code row (so /verification answers alike); the rest is below.
    const rows = await env.t.core.db.selectFrom('one_time_codes').select('email').where('purpose', '=', 'recovery').execute();
    const withRow = new Set(rows.map((r) => r.email));
    for (let i = 0; i < N; i++) {
      expect(withRow.has(`known${i}@example.org`), `known${i}`).toBe(true);
      expect(withRow.has(`unknown${i}@example.org`), `unknown${i}`).toBe(true);
    }

    // The work was done: one mail per known address (after the answers), none for unknown ones.
    await env.mail(`known${N - 1}@example.org`);
    await env.mail('known0@example.org');
    expect(env.mailsTo('unknown0@example.org')).toBe(0);
  }, 240_000);

  it('limits /sms per address with the same answer for known and unknown addresses', async () => {
    const answers = async (email: string) => {
      const out: number[] = [];
      for (let i = 0; i < 6; i++) out.push((await env.call('POST', '/v1/users/password/sms', { body: { email }, ip: `10.9.${i}.1` })).code);
      return out;
    };
    const k = await answers('known7@example.org');
    const u = await answers('unknown7@example.org');
    // known7/unknown7 were each asked once above.
    expect(k).toEqual([200, 200, 200, 200, 10131, 10131]);
    expect(u).toEqual(k);
  });

  it('limits /sms per IP', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 21; i++)
      codes.push((await env.call('POST', '/v1/users/password/sms', { body: { email: `ipcheck${i}@example.org` }, ip: '10.8.0.1' })).code);
    expect(codes.slice(0, 20)).toEqual(Array(20).fill(200));
    expect(codes[20]).toBe(10131);
  });
});
