/**
 * Random Token and EncodingAESKey for connecting an official account, from the browser's CSPRNG
 * (crypto.getRandomValues). WeChat takes letters and digits only: a Token of 3-32 characters and
 * an EncodingAESKey of exactly 43. Bytes are drawn until they fall below the largest multiple of
 * 62 (rejection sampling), so every character is equally likely: 32 characters are 190 bits.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LIMIT = 256 - (256 % ALPHABET.length); // 248

export function randomAlnum(length: number): string {
  let out = '';
  const buf = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b < LIMIT) out += ALPHABET[b % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A Token at WeChat's longest (32). */
export const newToken = () => randomAlnum(32);
/** An EncodingAESKey (43 characters: base64 of a 256-bit key without its padding). */
export const newAesKey = () => randomAlnum(43);
