/**
 * Request ids (Fastify's genReqId, app.ts): random (version 4) UUIDs, as crypto.randomUUID makes
 * them, but made as one flat string. node's randomUUID joins 21 pieces of text, which V8 keeps as
 * a tree of pieces (a cons string) until something reads its characters: the access line's
 * escape test (access-log.ts, quote) then copied it into one piece, ~1k instructions per request
 * (callgrind, bench/README.md "Hot paths, a ninth pass"). Here the 36 characters are written into
 * a buffer and read out as one string. The randomness is node's randomUUID's: 16 bytes of
 * crypto.randomFillSync per id, filled for 256 ids at a time.
 */
import { randomFillSync } from 'node:crypto';

const BATCH = 256;
const random = Buffer.alloc(16 * BATCH);
let next = BATCH;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** The id's text: 32 hex digits in five groups (8-4-4-4-12). */
const text = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');
/** Where each of the 16 bytes' two digits go in `text`. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

export function requestId(): string {
  if (next === BATCH) {
    randomFillSync(random);
    next = 0;
  }
  const o = 16 * next++;
  // RFC 9562 version 4: the version's four bits and the variant's two.
  random[o + 6] = (random[o + 6] & 0x0f) | 0x40;
  random[o + 8] = (random[o + 8] & 0x3f) | 0x80;
  for (let i = 0; i < 16; i++) {
    const b = random[o + i];
    text[AT[i]] = HEX[b >> 4]!;
    text[AT[i] + 1] = HEX[b & 15]!;
  }
  return text.toString('latin1');
}
