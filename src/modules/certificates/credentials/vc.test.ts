import { createPrivateKey } from 'node:crypto';
import { CompactSign, exportPKCS8, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { signCredential } from './vc.js';

describe('signCredential', () => {
  it('writes the very compact JWS jose writes for the same key and credential', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const key = { kid: 'k1', privateKey: createPrivateKey(await exportPKCS8(privateKey)) };
    const vc = {
      id: 'https://x.test/c/1',
      issuer: { id: 'https://x.test/i' },
      validFrom: '2026-11-23T03:00:00Z',
      name: '志愿者 \\u2028 "q"',
    };
    const payload = { ...vc, iss: vc.issuer.id, jti: vc.id, nbf: Math.floor(Date.parse(vc.validFrom) / 1000) };
    const want = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'vc+jwt', cty: 'vc' })
      .sign(key.privateKey);
    expect(await signCredential(vc, key)).toBe(want);
  });
});
