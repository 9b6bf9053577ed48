/**
 * Member mail (activation links, reset codes, password-change notices) leaves from MAIL_FROM; when
 * that sender's domain has a DKIM key (set in the console's Mail settings, or DKIM_* in the
 * environment), it is signed like a certificate notice, so a member's inbox does not file a reset
 * code as spam. An independent verifier (mailauth, resolving the published record on a loopback
 * DNS server) passes the message and fails it once a header is altered.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { adminAuth } from '../certificates/helpers.js';
import { startAccountsEnv, type AccountsTestEnv } from './helpers.js';

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startDnsServer();
});
afterAll(async () => dns?.close());

async function verify(raw: Buffer) {
  const resolver = dns.resolver();
  const resolve = (name: string, type: string) => resolver.resolve(name, type as 'TXT');
  return (await dkimVerify(raw, { resolver: resolve })).results[0];
}

async function activationMailOf(env: AccountsTestEnv, username: string): Promise<Buffer> {
  const email = `${username}@example.org`;
  const pw = 'a fine long passphrase';
  await env.call('POST', '/v1/users', { body: { username, email, password1: pw, password2: pw } });
  await env.mail(email);
  return env.smtp.received.find((m) => m.to.includes(email))!.raw;
}

describe('accounts: member mail is DKIM-signed when its sender domain has a key', () => {
  let env: AccountsTestEnv;
  afterAll(async () => env?.close());

  it("with the console's key for MAIL_FROM's domain: signed, verifies, fails once altered", async () => {
    env = await startAccountsEnv('sqlite', { env: { MAIL_FROM: 'members@club.example', DNS_SERVERS: dns.address } });
    const put = await env.t.app.inject({
      method: 'PUT',
      url: '/api/v2/certificates/dkim/club.example',
      headers: adminAuth,
      payload: { selector: 'vh2026' },
    });
    expect(put.statusCode).toBe(200);
    const { record } = put.json() as { record: { name: string; value: string } };
    dns.txt.set(record.name, [record.value]);

    const raw = await activationMailOf(env, 'dora');
    expect(raw.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256;.*d=club\.example;.*s=vh2026/ms);
    const ok = await verify(raw);
    expect(ok?.status?.result).toBe('pass');
    expect(ok?.signingDomain).toBe('club.example');
    const altered = Buffer.from(raw.toString('utf8').replace(/^Subject: .*$/m, 'Subject: =?UTF-8?B?5pS5?='));
    expect((await verify(altered))?.status?.result).toBe('fail');
    await env.close();
  });

  it('with DKIM_* from the environment: signed with that key; mail from another domain is not signed', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    dns.txt.set('env2026._domainkey.club.example', [`v=DKIM1; k=rsa; p=${p}`]);
    env = await startAccountsEnv('sqlite', {
      env: { MAIL_FROM: 'members@club.example', DKIM_DOMAIN: 'club.example', DKIM_SELECTOR: 'env2026', DKIM_PRIVATE_KEY: pem },
    });
    const raw = await activationMailOf(env, 'emil');
    expect((await verify(raw))?.status?.result).toBe('pass');
    await env.close();

    env = await startAccountsEnv('sqlite', {
      env: { MAIL_FROM: 'members@other.example', DKIM_DOMAIN: 'club.example', DKIM_SELECTOR: 'env2026', DKIM_PRIVATE_KEY: pem },
    });
    const unsigned = await activationMailOf(env, 'fay');
    expect(unsigned.toString('latin1')).not.toMatch(/^DKIM-Signature:/im);
  });
});
