/**
 * WeChat's "safe mode" message encryption (WXBizMsgCrypt): AES-256-CBC with the key
 * base64(EncodingAESKey + '='), IV = the key's first 16 bytes, plaintext
 * random(16) + msg_len(4, big-endian) + msg + appid, PKCS#7 padding to 32-byte blocks, base64.
 * Decryption checks the padding, the length and the appid (constant time), so a message for
 * another account, or a tampered one, is refused.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { safeEqual } from '../crypto/tokens.js';

const BLOCK = 32;

export class WechatCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WechatCryptoError';
  }
}

/** True when `aesKey` has the shape of an EncodingAESKey (43 base64 characters). */
export function isEncodingAesKey(aesKey: string): boolean {
  return /^[A-Za-z0-9+/]{43}$/.test(aesKey);
}

/** The 32-byte key an EncodingAESKey stands for. */
export function aesKeyBytes(aesKey: string): Buffer {
  if (!isEncodingAesKey(aesKey)) throw new WechatCryptoError('EncodingAESKey must be 43 base64 characters');
  const key = Buffer.from(`${aesKey}=`, 'base64');
  if (key.length !== 32) throw new WechatCryptoError('EncodingAESKey does not decode to 32 bytes');
  return key;
}

/** Encrypts `message` for `appid`; answers the base64 Encrypt field. */
export function encryptMessage(aesKey: string, appid: string, message: string, random: Buffer = randomBytes(16)): string {
  const key = aesKeyBytes(aesKey);
  const msg = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msg.length, 0);
  const body = Buffer.concat([random, len, msg, Buffer.from(appid, 'utf8')]);
  const pad = BLOCK - (body.length % BLOCK);
  const padded = Buffer.concat([body, Buffer.alloc(pad, pad)]);
  const c = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  c.setAutoPadding(false);
  return Buffer.concat([c.update(padded), c.final()]).toString('base64');
}

/** Decrypts an Encrypt field; throws WechatCryptoError unless it is well-formed and for `appid`. */
export function decryptMessage(aesKey: string, appid: string, encrypted: string): string {
  const key = aesKeyBytes(aesKey);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypted)) throw new WechatCryptoError('Encrypt is not base64');
  const data = Buffer.from(encrypted, 'base64');
  if (data.length === 0 || data.length % 16 !== 0) throw new WechatCryptoError('Encrypt has a wrong length');
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    d.setAutoPadding(false);
    plain = Buffer.concat([d.update(data), d.final()]);
  } catch {
    throw new WechatCryptoError('Encrypt does not decrypt');
  }
  const pad = plain[plain.length - 1];
  if (pad < 1 || pad > BLOCK || pad > plain.length) throw new WechatCryptoError('bad padding');
  const body = plain.subarray(0, plain.length - pad);
  if (body.length < 20) throw new WechatCryptoError('message too short');
  const len = body.readUInt32BE(16);
  if (20 + len > body.length) throw new WechatCryptoError('bad message length');
  const msg = body.subarray(20, 20 + len).toString('utf8');
  const gotAppid = body.subarray(20 + len).toString('utf8');
  if (!safeEqual(gotAppid, appid)) throw new WechatCryptoError('message is for another appid');
  return msg;
}
