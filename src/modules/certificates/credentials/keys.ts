/**
 * The instance's Ed25519 signing keys. The private key is stored sealed with core.secrets in the
 * database, so every instance of a fleet (sharing SECRET_KEY) signs with the same key; at most one
 * key is active (a partial unique index), so two instances creating the first key at once cannot
 * both win. Rotation retires the active key and makes a new one; every key ever used stays in the
 * JWKS, so credentials signed before a rotation keep verifying.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { DB } from '../../../platform/db/index.js';
import { isUniqueViolation } from '../../../platform/db/index.js';
import type { SecretBox } from '../../../platform/crypto/secretbox.js';
import '../tables.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** How long an instance signs with the key it read before looking again (another instance may rotate). */
const ACTIVE_TTL_MS = 30_000;

async function newKeyRow(now: number, secrets: SecretBox) {
  // jose only where keys are made or documents signed, not at start (issue 15, idle memory).
  const { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } = await import('jose');
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk: JWK = { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
  return {
    kid,
    public_jwk: JSON.stringify(publicJwk),
    private_sealed: secrets.seal(await exportPKCS8(privateKey)),
    active: 1,
    created_at: now,
    retired_at: null,
  };
}

/** Builds the key ring over the database. */
export function createKeyRing(deps: { db: DB; secrets: SecretBox; now: () => number }) {
  const { db, secrets, now } = deps;
  let cached: { key: SigningKey; at: number } | undefined;

  async function readActive(): Promise<SigningKey | undefined> {
    const row = await db.selectFrom('credential_keys').select(['kid', 'private_sealed']).where('active', '=', 1).executeTakeFirst();
    if (!row) return undefined;
    return { kid: row.kid, privateKey: createPrivateKey(secrets.open(row.private_sealed)) };
  }

  return {
    /** The key that signs now; created on first use. */
    async active(): Promise<SigningKey> {
      if (cached && now() - cached.at < ACTIVE_TTL_MS) return cached.key;
      let key = await readActive();
      if (!key) {
        try {
          await db
            .insertInto('credential_keys')
            .values(await newKeyRow(now(), secrets))
            .execute();
        } catch (err) {
          // Another instance created it first: use theirs.
          if (!isUniqueViolation(err)) throw err;
        }
        key = (await readActive())!;
      }
      cached = { key, at: now() };
      return key;
    },
    /** Every public key, newest first (the JWKS). */
    async publicKeys(): Promise<JWK[]> {
      const rows = await db.selectFrom('credential_keys').select(['public_jwk']).orderBy('created_at', 'desc').execute();
      return rows.map((r) => JSON.parse(r.public_jwk) as JWK);
    },
    /** Retires the active key and makes a new one; old keys stay published. */
    async rotate(): Promise<{ kid: string; retired: string | null }> {
      const row = await newKeyRow(now(), secrets);
      const retired = await db.transaction().execute(async (trx) => {
        const old = await trx.selectFrom('credential_keys').select('kid').where('active', '=', 1).executeTakeFirst();
        await trx.updateTable('credential_keys').set({ active: null, retired_at: now() }).where('active', '=', 1).execute();
        await trx.insertInto('credential_keys').values(row).execute();
        return old?.kid ?? null;
      });
      cached = undefined;
      return { kid: row.kid, retired };
    },
    /** Forget the cached key (tests; a rotation elsewhere is picked up within 30 s anyway). */
    forget() {
      cached = undefined;
    },
  };
}

export type KeyRing = ReturnType<typeof createKeyRing>;
