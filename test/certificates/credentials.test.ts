/**
 * Issue 16, "must show": a credential verified by an implementation independent of the signer
 * (signed with jose; verified here with node:crypto alone, from the published JWKS), checked
 * against the Open Badges 3.0 JSON schema (vendored, see test/fixtures/open-badges/SOURCE.md),
 * taken out of the PNG (iTXt "openbadgecredential") and the PDF, and reported revoked after a
 * revocation: by the page JSON and by the W3C Bitstring Status List the credential names.
 * Also: reissue (superseded), key rotation (old keys stay published), custom import columns in
 * the credential, and 40 revocations of one certificate at once (exactly one wins).
 */
import { createPublicKey, verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormatsModule from 'ajv-formats';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/db.js';
import { startSmtpServer, type TestSmtpServer } from '../platform/smtp-server.js';
import { parseMail, tokenFromNotice, waitFor, whiteTemplate, v2Api, V2 as P, adminAuth as auth } from './helpers.js';
import { createKeyRing } from '../../src/modules/certificates/credentials/keys.js';

const BASE = 'http://vh.test';

// ---- an independent verifier: node:crypto and the JWKS only --------------------------------
type Jwk = { kty: string; crv: string; x: string; kid: string };
function b64urlJson(part: string): any {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}
/** Verifies a compact JWS (EdDSA/Ed25519) against a JWKS; returns header and payload, or throws. */
function verifyJws(jws: string, jwks: { keys: Jwk[] }) {
  const [h, p, sig, extra] = jws.split('.');
  if (extra !== undefined || !h || !p || !sig) throw new Error('not a compact JWS');
  const header = b64urlJson(h);
  if (header.alg !== 'EdDSA') throw new Error(`unexpected alg ${header.alg}`);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the JWKS`);
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: 'jwk' });
  if (!edVerify(null, Buffer.from(`${h}.${p}`, 'ascii'), key, Buffer.from(sig, 'base64url'))) throw new Error('bad signature');
  return { header, payload: b64urlJson(p) };
}
/** The text of the PNG's iTXt chunk with the given keyword (parsed here, independently of the baker). */
function pngItxt(png: Buffer, keyword: string): string | undefined {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  for (let p = 8; p + 12 <= png.length;) {
    const len = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    const data = png.subarray(p + 8, p + 8 + len);
    if (type === 'iTXt') {
      const k = data.indexOf(0);
      if (data.toString('latin1', 0, k) === keyword) {
        const compressed = data[k + 1] === 1;
        let q = k + 3;
        q = data.indexOf(0, q) + 1; // language tag
        q = data.indexOf(0, q) + 1; // translated keyword
        const text = data.subarray(q);
        return (compressed ? inflateSync(text) : text).toString('utf8');
      }
    }
    p += 12 + len;
  }
  return undefined;
}
/** Whether bit `i` of a Bitstring Status List's encodedList is set (index 0 = left-most bit). */
function statusBit(encodedList: string, i: number): boolean {
  expect(encodedList[0]).toBe('u');
  const bits = gunzipSync(Buffer.from(encodedList.slice(1), 'base64url'));
  expect(bits.length).toBeGreaterThanOrEqual(16 * 1024);
  return (bits[i >> 3] & (0x80 >> (i & 7))) !== 0;
}

// ---- the Open Badges 3.0 schema (vendored) --------------------------------------------------
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
const obSchema = JSON.parse(
  readFileSync(new URL('../fixtures/open-badges/ob_v3p0_achievementcredential_schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2019({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2019) => void)(ajv);
const validateOb = ajv.compile(obSchema);

describe.each(testDialects())('verifiable credentials on %s', (dialect) => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  const api = v2Api(() => t);
  const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });
  const jwks = async () => (await get('/.well-known/jwks.json')).json<{ keys: Jwk[] }>();
  let ids: Record<string, { rid: number; certId: string }> = {};

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ dialect, env: { SMTP_URL: smtp.url, PUBLIC_URL: BASE } });
    expect((await api('POST', '/campaigns', { name: 'Riverside Cleanup 2026', slug: 'riverside' })).status).toBe(201);
    await api('PATCH', '/campaigns/riverside', {
      organization: 'Riverside Volunteers',
      website: 'riverside.example.org',
      mail: { smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' } },
    });
    const form = new FormData();
    form.append('template', new Blob([new Uint8Array(whiteTemplate(800, 560))]), 't.png');
    await fetch(`${await t.listen()}${P}/campaigns/riverside/template`, { method: 'PUT', body: form, headers: auth });
    // Columns beyond email/number/name become custom fields.
    const imp = await t.app.inject({
      method: 'POST',
      url: `${P}/campaigns/riverside/recipients`,
      headers: { ...auth, 'content-type': 'text/csv' },
      payload:
        'email,number,name,role,hours\nwang@example.org,RV-001,王芳,Team lead,12\nli@example.org,RV-002,Li Wei,Helper,4\nzhao@example.org,RV-003,赵六,,\n',
    });
    expect(imp.json()).toMatchObject({ added: 3, rejected: [] });
    const c = (await api('GET', '/campaigns/riverside')).json();
    expect(c.customFields).toEqual([
      { key: 'role', label: 'role' },
      { key: 'hours', label: 'hours' },
    ]);
    await api('PATCH', '/campaigns/riverside', {
      layout: { fields: { role: { x: 400, y: 320, size: 24, align: 'center' } }, qr: { x: 640, y: 400, size: 120 } },
    });
    await api('POST', '/campaigns/riverside/send');
    await waitFor(async () => (await api('GET', '/campaigns/riverside/progress')).json().counts['1'] === 3, 20_000, 'notices');
    // A snapshot of the notices: certificate mails arrive while the volunteers claim.
    const notices = (await Promise.all([...smtp.received].map((m) => parseMail(m.raw)))).filter((m) => m.messageId?.startsWith('<notice.'));
    expect(notices).toHaveLength(3);
    for (const mail of notices) {
      const token = tokenFromNotice(mail.html ?? '')!;
      const info = (await get(`${P}/claim?token=${token}`)).json();
      const claim = await t.app.inject({ method: 'POST', url: `${P}/claim`, payload: { token, name: info.name } });
      expect(claim.statusCode, claim.body).toBe(200);
    }
    await waitFor(async () => (await api('GET', '/campaigns/riverside/progress')).json().counts['4'] === 3, 30_000, 'certificates mailed');
    for (const r of (await api('GET', '/campaigns/riverside/recipients')).json().items)
      ids[r.email] = { rid: r.id, certId: r.certificateId };
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    ids = {};
  });

  it('verifies the signed credential independently, against the JWKS, and it passes the Open Badges 3.0 schema', async () => {
    const { certId } = ids['wang@example.org'];
    const ld = await get(`/verify/${certId}.json`);
    expect(ld.statusCode).toBe(200);
    expect(ld.headers['content-type']).toContain('application/vc+ld+json');
    const vc = ld.json();
    const jwtRes = await get(`/verify/${certId}.json`, { accept: 'application/vc+jwt' });
    expect(jwtRes.headers['content-type']).toContain('application/vc+jwt');
    const { header, payload } = verifyJws(jwtRes.body, await jwks());
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'vc+jwt', cty: 'vc' });
    // The JWT says exactly what the JSON-LD form says (plus the JWT's registered claims).
    const { iss, jti, nbf, ...signed } = payload;
    expect(signed).toEqual(vc);
    expect({ iss, jti }).toEqual({ iss: vc.issuer.id, jti: vc.id });
    expect(nbf).toBe(Date.parse(vc.validFrom) / 1000);
    // A tampered payload fails.
    const [h, , s] = jwtRes.body.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, credentialSubject: { ...payload.credentialSubject, identifier: [] } })).toString('base64url')}.${s}`;
    expect(() => verifyJws(forged, { keys: [] })).toThrow('no key');
    await expect(jwks().then((k) => verifyJws(forged, k))).rejects.toThrow('bad signature');

    expect(vc).toMatchObject({
      '@context': [
        'https://www.w3.org/ns/credentials/v2',
        expect.stringMatching(/^https:\/\/purl\.imsglobal\.org\/spec\/ob\/v3p0\/context-3\.0\.\d\.json$/),
      ],
      id: `${BASE}/verify/${certId}`,
      type: ['VerifiableCredential', 'OpenBadgeCredential'],
      issuer: {
        id: expect.stringMatching(/^http:\/\/vh\.test\/issuers\/\d+$/),
        type: ['Profile'],
        name: 'Riverside Volunteers',
        url: 'https://riverside.example.org/',
      },
      name: 'Riverside Cleanup 2026',
      credentialSubject: {
        type: ['AchievementSubject'],
        identifier: [
          { type: 'IdentityObject', identityType: 'name', identityHash: '王芳', hashed: false },
          { type: 'IdentityObject', identityType: 'ext:certificateNumber', identityHash: 'RV-001', hashed: false },
        ],
        achievement: {
          type: ['Achievement'],
          name: 'Riverside Cleanup 2026',
          criteria: { narrative: expect.stringContaining('Riverside Volunteers') },
        },
        role: 'Team lead',
        result: [
          { type: ['Result'], value: 'Team lead', resultDescription: expect.stringMatching(/#field-role$/) },
          { type: ['Result'], value: '12', resultDescription: expect.stringMatching(/#field-hours$/) },
        ],
      },
      credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation' },
    });
    expect(JSON.stringify(vc)).not.toContain('wang@example.org');
    expect(validateOb(toSchemaVersion(vc)), JSON.stringify(validateOb.errors)).toBe(true);
    // The schema check is real: a credential without its achievement fails it.
    expect(validateOb(toSchemaVersion({ ...vc, credentialSubject: { type: ['AchievementSubject'] } }))).toBe(false);
    // The issuer profile and achievement the credential names are served.
    expect((await get(vc.issuer.id.replace(BASE, ''))).json()).toMatchObject({
      id: vc.issuer.id,
      type: ['Profile'],
      name: 'Riverside Volunteers',
    });
    expect((await get(vc.credentialSubject.achievement.id.replace(BASE, ''))).json()).toMatchObject({
      id: vc.credentialSubject.achievement.id,
      name: 'Riverside Cleanup 2026',
    });
  });

  it('bakes the signed credential into the PNG (iTXt openbadgecredential) and the PDF (embedded file)', async () => {
    const { certId } = ids['li@example.org'];
    const png = await get(`/verify/${certId}.png`);
    expect(png.headers['content-type']).toBe('image/png');
    const baked = pngItxt(png.rawPayload, 'openbadgecredential');
    expect(baked).toBeDefined();
    const { payload } = verifyJws(baked!, await jwks());
    expect(payload).toMatchObject({
      id: `${BASE}/verify/${certId}`,
      credentialSubject: { identifier: [{ identityHash: 'Li Wei' }, { identityHash: 'RV-002' }] },
    });
    // The organizer's copy and the volunteer's download carry it too.
    const org = await api('GET', `/campaigns/riverside/recipients/${ids['li@example.org'].rid}/certificate`);
    expect(pngItxt(org.res.rawPayload, 'openbadgecredential')).toBe(baked);
    const pdf = (await get(`/verify/${certId}.pdf`)).rawPayload;
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdf.toString('latin1');
    expect(text).toMatch(/\/EmbeddedFiles << \/Names \[\(openbadgecredential\.jwt\) \d+ 0 R/);
    const jws = /stream\n([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\nendstream/.exec(text)?.[1];
    expect(verifyJws(jws!, await jwks()).payload.id).toBe(`${BASE}/verify/${certId}`);
  });

  it('reports a revoked credential revoked: the page JSON, and the signed status list the credential names', async () => {
    const { certId, rid } = ids['zhao@example.org'];
    const vc = (await get(`/verify/${certId}.json`)).json();
    const entry = vc.credentialStatus;
    const listPath = entry.statusListCredential.replace(BASE, '');
    const bitOf = async () => {
      const res = await get(listPath, { accept: 'application/vc+jwt' });
      expect(res.headers['content-type']).toContain('application/vc+jwt');
      const { payload } = verifyJws(res.body, await jwks());
      expect(payload).toMatchObject({
        type: ['VerifiableCredential', 'BitstringStatusListCredential'],
        credentialSubject: { type: 'BitstringStatusList', statusPurpose: 'revocation' },
      });
      return statusBit(payload.credentialSubject.encodedList, Number(entry.statusListIndex));
    };
    expect(await bitOf()).toBe(false);
    expect((await get(`${P}/verify/${certId}`)).json()).toMatchObject({ status: 'valid', revokedAt: null });

    // A reason is required; 40 revocations at once: exactly one revokes, the rest say so.
    expect((await api('POST', `/campaigns/riverside/recipients/${rid}/revoke`, { reason: '  ' })).status).toBe(400);
    const all = await Promise.all(
      Array.from({ length: 40 }, () =>
        api('POST', `/campaigns/riverside/recipients/${rid}/revoke`, { reason: 'Did not attend the event' }),
      ),
    );
    expect(all.filter((r) => r.status === 200)).toHaveLength(1);
    expect(all.filter((r) => r.status === 409).every((r) => r.json().code === 'already_revoked')).toBe(true);
    expect(all.find((r) => r.status === 200)!.json().certificate).toMatchObject({
      id: certId,
      status: 'revoked',
      revocationReason: 'Did not attend the event',
    });

    expect(await bitOf()).toBe(true);
    const v = (await get(`${P}/verify/${certId}`)).json();
    expect(v).toMatchObject({ status: 'revoked', revocationReason: 'Did not attend the event', revokedAt: expect.any(Number) });
    // Other credentials of the list are untouched.
    const other = (await get(`/verify/${ids['wang@example.org'].certId}.json`)).json().credentialStatus;
    expect(other.statusListCredential).toBe(entry.statusListCredential);
    const list = verifyJws((await get(listPath, { accept: 'application/vc+jwt' })).body, await jwks()).payload;
    expect(statusBit(list.credentialSubject.encodedList, Number(other.statusListIndex))).toBe(false);
  });

  it('reissues with a corrected name: a new credential, the old one revoked as superseded and linking to it', async () => {
    const { certId, rid } = ids['li@example.org'];
    const re = await api('POST', `/campaigns/riverside/recipients/${rid}/reissue`, { name: 'Li Wei (李伟)' });
    expect(re.status).toBe(200);
    const cur = re.json().certificate;
    expect(cur).toMatchObject({ status: 'valid', name: 'Li Wei (李伟)' });
    expect(cur.id).not.toBe(certId);
    expect((await get(`${P}/verify/${certId}`)).json()).toMatchObject({
      status: 'revoked',
      revocationReason: 'superseded',
      replacedBy: cur.id,
    });
    expect((await get(`${P}/verify/${cur.id}`)).json()).toMatchObject({ status: 'valid', name: 'Li Wei (李伟)' });
    const hist = (await api('GET', `/campaigns/riverside/recipients/${rid}/credentials`)).json().items;
    expect(hist.map((h: { id: string; status: string }) => [h.id, h.status])).toEqual([
      [cur.id, 'valid'],
      [certId, 'revoked'],
    ]);
    // The corrected certificate is mailed.
    await waitFor(
      async () => (await api('GET', `/campaigns/riverside/recipients?q=li@`)).json().items[0].status === 4,
      20_000,
      'reissued certificate mailed',
    );
    // A name the fonts cannot draw is refused before anything changes.
    expect((await api('POST', `/campaigns/riverside/recipients/${rid}/reissue`, { name: '<b>' })).status).toBe(422);
    ids['li@example.org'] = { rid, certId: cur.id };
  });

  it('rotates the signing key: new credentials use the new key, earlier ones keep verifying from the published old key', async () => {
    const { certId } = ids['wang@example.org'];
    const before = (await get(`/verify/${certId}.json`, { accept: 'application/vc+jwt' })).body;
    const oldKid = b64urlJson(before.split('.')[0]).kid;
    const rot = await api('POST', '/keys/rotate');
    expect(rot.json()).toMatchObject({ retired: oldKid });
    const keys = await jwks();
    expect(keys.keys.map((k) => k.kid)).toEqual([rot.json().kid, oldKid]);
    expect(verifyJws(before, keys).header.kid).toBe(oldKid);
    const after = (await get(`/verify/${certId}.json`, { accept: 'application/vc+jwt' })).body;
    expect(verifyJws(after, keys).header.kid).toBe(rot.json().kid);
    // The private key is stored sealed, never in clear.
    const rows = await t.core.db.selectFrom('credential_keys').select(['private_sealed']).execute();
    for (const r of rows) expect(r.private_sealed).toMatch(/^v1:/);
  });

  it('downloads every valid certificate as one streamed ZIP, and a print PDF at 300 dpi for a chosen set', async () => {
    const res = await api('GET', '/campaigns/riverside/certificates.zip');
    expect(res.status).toBe(200);
    expect(res.res.headers['content-type']).toBe('application/zip');
    const zip = res.res.rawPayload;
    const entries = readZip(zip);
    // Revoked (zhao) and superseded (li's first) certificates are left out; li's corrected one is in.
    expect(entries.map((e) => e.name).sort()).toEqual([
      expect.stringMatching(/^RV-001_王芳_[\w-]{8}\.png$/),
      expect.stringMatching(/^RV-002_Li Wei \(李伟\)_[\w-]{8}\.png$/),
    ]);
    for (const e of entries) {
      const jws = pngItxt(e.data, 'openbadgecredential')!;
      expect(verifyJws(jws, await jwks()).payload.credentialSubject.identifier[0].identityHash).toBe(
        e.name.includes('王芳') ? '王芳' : 'Li Wei (李伟)',
      );
    }
    const print = await api('POST', '/campaigns/riverside/certificates/print', {
      recipientIds: [ids['wang@example.org'].rid, ids['li@example.org'].rid],
    });
    expect(print.res.headers['content-type']).toBe('application/pdf');
    const pdf = print.res.rawPayload.toString('latin1');
    expect(pdf).toContain('/Type /Pages /Kids [');
    expect(pdf).toContain('/Count 2');
    // 800x560 template -> 3508 px long side (A4 at 300 dpi): 841.92 x 589.44 pt.
    expect(pdf.match(/\/Width 3508 \/Height 2456 /g)).toHaveLength(2);
    expect(pdf.match(/\/MediaBox \[0 0 841\.92 589\.44\]/g)).toHaveLength(2);
    expect(pdf.trimEnd().endsWith('%%EOF')).toBe(true);
    // A volunteer without a certificate is refused before anything is sent.
    const none = await api('POST', '/campaigns/riverside/certificates/print', { recipientIds: [ids['zhao@example.org'].rid, 999999] });
    expect(none.status).toBe(409);
    expect(none.json()).toMatchObject({ code: 'no_certificate', recipientIds: [999999] });
  });

  it('makes one signing key when two instances start at once (the database decides), sealed', async () => {
    await t.core.db.deleteFrom('credential_keys').execute();
    const rings = Array.from({ length: 6 }, () => createKeyRing({ db: t.core.db, secrets: t.core.secrets, now: () => Date.now() }));
    const keys = await Promise.all(rings.map((r) => r.active()));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(await t.core.db.selectFrom('credential_keys').select('kid').execute()).toHaveLength(1);
    // (Runs after every test that signs: the app's own ring still caches the key deleted above.)
  });

  it('answers unknown ids with 404 in every form, and bad input in the v2 envelope', async () => {
    for (const url of [
      '/verify/AAAAAAAAAAAAAAAAAAAAAA.json',
      '/verify/AAAAAAAAAAAAAAAAAAAAAA.png',
      '/verify/no.pdf',
      `${P}/verify/AAAAAAAAAAAAAAAAAAAAAA`,
      '/issuers/999999',
      '/issuers/1/status/99',
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ code: 'not_found' });
    }
    const page = await get('/verify/AAAAAAAAAAAAAAAAAAAAAA', { accept: 'text/html' });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toContain('text/html');
    expect(
      (await api('POST', `/campaigns/riverside/recipients/${ids['wang@example.org'].rid}/revoke`, { reason: 'x'.repeat(501) })).status,
    ).toBe(400);
    expect((await api('POST', `/campaigns/riverside/recipients/999999/revoke`, { reason: 'x' })).status).toBe(404);
  });
});

/** Reads a ZIP (stored entries) through its central directory, as any unzip tool would. */
function readZip(zip: Buffer): Array<{ name: string; data: Buffer }> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(eocd).toBeGreaterThan(0);
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: Array<{ name: string; data: Buffer }> = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(p)).toBe(0x02014b50);
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    expect(method).toBe(0);
    const lNameLen = zip.readUInt16LE(local + 26);
    const lExtraLen = zip.readUInt16LE(local + 28);
    const start = local + 30 + lNameLen + lExtraLen;
    out.push({ name, data: zip.subarray(start, start + size) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/**
 * The vendored schema is the 1EdTech file with the official $id as the stored corpus holds it,
 * from before Open Badges 3.0.3 moved to VC Data Model 2.0 (issuanceDate/expirationDate were
 * renamed validFrom/validUntil there; nothing else in a credential like ours changed). The
 * credential is VC 2.0, so the check maps those two names back and validates everything else
 * as published. See test/fixtures/open-badges/SOURCE.md.
 */
function toSchemaVersion(vc: Record<string, unknown>) {
  const { validFrom, validUntil, ...rest } = vc;
  return { ...rest, issuanceDate: validFrom, ...(validUntil ? { expirationDate: validUntil } : {}) };
}
