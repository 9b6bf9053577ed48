/**
 * The documents of a credential: the Open Badges 3.0 credential (a W3C Verifiable Credential 2.0
 * of type OpenBadgeCredential), the issuer profile it names, and the campaign's Bitstring Status
 * List credential; and their VC-JWT form (JOSE: the JWS payload IS the credential, header
 * alg EdDSA, typ vc+jwt, cty vc; media type application/vc+jwt).
 */
import { sign } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { SigningKey } from './keys.js';
import type { CustomField } from '../import-columns.js';

export const VC_CONTEXT_V2 = 'https://www.w3.org/ns/credentials/v2';
export const OB_CONTEXT = 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json';
export const OB_SCHEMA = 'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json';
/** Entries per status list: 131,072 bits (16 KB), the Bitstring Status List minimum, for herd privacy. */
export const STATUS_LIST_SIZE = 131_072;

/** Everything a credential says, gathered from its row and its campaign. */
export interface CredentialFacts {
  publicId: string;
  campaignId: number;
  campaignName: string;
  organization: string;
  website: string;
  hasLogo: boolean;
  name: string;
  number: string | null;
  fields: Record<string, string>;
  customFields: CustomField[];
  issuedAt: number;
  statusIndex: number;
}

/** The URLs of the public documents, from PUBLIC_URL. */
export function credentialUrls(base: string) {
  return {
    credential: (publicId: string) => `${base}/verify/${publicId}`,
    issuer: (campaignId: number) => `${base}/issuers/${campaignId}`,
    logo: (campaignId: number) => `${base}/issuers/${campaignId}/logo`,
    achievement: (campaignId: number) => `${base}/issuers/${campaignId}/achievement`,
    statusList: (campaignId: number, list: number) => `${base}/issuers/${campaignId}/status/${list}`,
    jwks: () => `${base}/.well-known/jwks.json`,
  };
}
export type CredentialUrls = ReturnType<typeof credentialUrls>;

/** ISO 8601 UTC without milliseconds (what wallets and the schema's date-time expect). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** A website as a URL (the organizer may have typed `example.org`); undefined when it is not one. */
export function websiteUrl(website: string): string | undefined {
  const w = website.trim();
  if (!w) return undefined;
  try {
    const u = new URL(/^https?:\/\//i.test(w) ? w : `https://${w}`);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** The issuer profile (OB 3.0 Profile): the organization that runs the campaign. */
export function issuerProfile(
  f: Pick<CredentialFacts, 'campaignId' | 'campaignName' | 'organization' | 'website' | 'hasLogo'>,
  urls: CredentialUrls,
) {
  const url = websiteUrl(f.website);
  return {
    id: urls.issuer(f.campaignId),
    type: ['Profile'],
    name: f.organization || f.campaignName,
    ...(url ? { url } : {}),
    ...(f.hasLogo ? { image: { id: urls.logo(f.campaignId), type: 'Image' } } : {}),
  };
}

/** The achievement the campaign stands for. */
export function achievement(
  f: Pick<CredentialFacts, 'campaignId' | 'campaignName' | 'organization' | 'customFields' | 'hasLogo'>,
  urls: CredentialUrls,
) {
  const org = f.organization || f.campaignName;
  const id = urls.achievement(f.campaignId);
  return {
    id,
    type: ['Achievement'],
    achievementType: 'Certificate',
    name: f.campaignName,
    description: `志愿者证书：${f.campaignName}（${org}）/ Volunteer certificate: ${f.campaignName} (${org})`,
    criteria: { narrative: `由 ${org} 颁发给 ${f.campaignName} 的志愿者。/ Awarded by ${org} to the volunteers of ${f.campaignName}.` },
    ...(f.hasLogo ? { image: { id: urls.logo(f.campaignId), type: 'Image' } } : {}),
    ...(f.customFields.length
      ? {
          resultDescription: f.customFields.map((c) => ({
            id: `${id}#field-${c.key}`,
            type: ['ResultDescription'],
            name: c.label,
            resultType: 'ext:Text',
          })),
        }
      : {}),
  };
}

/** Where a credential sits in its campaign's status lists. */
export function statusEntry(f: Pick<CredentialFacts, 'campaignId' | 'statusIndex'>, urls: CredentialUrls) {
  const list = Math.floor(f.statusIndex / STATUS_LIST_SIZE) + 1;
  const index = f.statusIndex % STATUS_LIST_SIZE;
  const listUrl = urls.statusList(f.campaignId, list);
  return {
    id: `${listUrl}#${index}`,
    type: 'BitstringStatusListEntry',
    statusPurpose: 'revocation',
    statusListIndex: String(index),
    statusListCredential: listUrl,
  };
}

const ROLE_KEYS = new Set(['role', '角色', '职务', '岗位']);

/** The OpenBadgeCredential (unsigned; `signCredential` makes its VC-JWT). */
export function buildCredential(f: CredentialFacts, urls: CredentialUrls) {
  const ach = achievement(f, urls);
  const results = f.customFields
    .filter((c) => f.fields[c.key] !== undefined && f.fields[c.key] !== '')
    .map((c) => ({ type: ['Result'], resultDescription: `${ach.id}#field-${c.key}`, value: f.fields[c.key] }));
  const role = f.customFields.find((c) => ROLE_KEYS.has(c.key.toLowerCase()) || ROLE_KEYS.has(c.label.toLowerCase()));
  return {
    '@context': [VC_CONTEXT_V2, OB_CONTEXT],
    id: urls.credential(f.publicId),
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    issuer: issuerProfile(f, urls),
    validFrom: isoSeconds(f.issuedAt),
    name: f.campaignName,
    credentialSubject: {
      type: ['AchievementSubject'],
      // The name is what the certificate shows; the email is never published (README: verification).
      identifier: [
        { type: 'IdentityObject', identityHash: f.name, identityType: 'name', hashed: false },
        ...(f.number ? [{ type: 'IdentityObject', identityHash: f.number, identityType: 'ext:certificateNumber', hashed: false }] : []),
      ],
      achievement: ach,
      ...(role && f.fields[role.key] ? { role: f.fields[role.key] } : {}),
      ...(results.length ? { result: results } : {}),
    },
    credentialStatus: statusEntry(f, urls),
    credentialSchema: [{ id: OB_SCHEMA, type: '1EdTechJsonSchemaValidator2019' }],
  };
}
export type OpenBadgeCredential = ReturnType<typeof buildCredential>;

/**
 * A VC-JWT: the compact JWS of the credential JSON (plus iss/jti/nbf, the registered claims that
 * Open Badges 3.0 verifiers of the JWT format look for, equal to issuer.id, id and validFrom).
 */
export async function signCredential(
  vc: { id: string; issuer: { id: string } | string; validFrom: string },
  key: SigningKey,
): Promise<string> {
  const payload = {
    ...vc,
    iss: typeof vc.issuer === 'string' ? vc.issuer : vc.issuer.id,
    jti: vc.id,
    nbf: Math.floor(Date.parse(vc.validFrom) / 1000),
  };
  const header = { alg: 'EdDSA', kid: key.kid, typ: 'vc+jwt', cty: 'vc' };
  if (key.privateKey.asymmetricKeyType !== 'ed25519') {
    const { CompactSign } = await import('jose');
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header).sign(key.privateKey);
  }
  // The same compact JWS jose writes (Ed25519 is deterministic: the same bytes), signed by
  // node:crypto on this thread: jose goes through WebCrypto, an async job on libuv's pool per
  // certificate, for a signature that takes tens of microseconds.
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/**
 * The encoded bitstring: index 0 is the left-most (most significant) bit of the first byte,
 * GZIP-compressed, base64url with the multibase prefix `u` (W3C Bitstring Status List 1.0).
 */
export function encodeStatusList(revoked: Iterable<number>, size = STATUS_LIST_SIZE): string {
  const bits = Buffer.alloc(size / 8);
  for (const i of revoked) bits[i >> 3] |= 0x80 >> (i & 7);
  return `u${gzipSync(bits, { level: 9 }).toString('base64url')}`;
}

/** The campaign's status list credential number `list` (1-based). */
export function buildStatusListCredential(
  campaignId: number,
  list: number,
  revokedInList: number[],
  issuer: { id: string },
  now: number,
  urls: CredentialUrls,
) {
  const id = urls.statusList(campaignId, list);
  return {
    '@context': [VC_CONTEXT_V2],
    id,
    type: ['VerifiableCredential', 'BitstringStatusListCredential'],
    issuer,
    validFrom: isoSeconds(now),
    credentialSubject: {
      id: `${id}#list`,
      type: 'BitstringStatusList',
      statusPurpose: 'revocation',
      encodedList: encodeStatusList(revokedInList),
    },
  };
}
