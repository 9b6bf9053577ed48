/**
 * jpeg-scan.ts on real encoders' files (test/fixtures/jpeg, made with ImageMagick/libjpeg):
 * progressive, restart markers, grayscale with odd sizes, 4:4:4 and 4:2:2 with optimized Huffman
 * tables are accepted; each cut short (with or without an end marker appended) is refused.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkJpegScans } from './jpeg-scan.js';
import { ImageRejected } from './errors.js';

const DIR = join(import.meta.dirname, '../../../../test/fixtures/jpeg');
const files = readdirSync(DIR).filter((f) => f.endsWith('.jpg'));
const EOI = Buffer.from([0xff, 0xd9]);

async function reason(p: Promise<unknown>): Promise<string | null> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (err === null) return null;
  expect(err).toBeInstanceOf(ImageRejected);
  return (err as ImageRejected).reason;
}

describe('checkJpegScans', () => {
  it('has the fixtures', () => expect(files.length).toBeGreaterThanOrEqual(5));
  for (const f of files) {
    it(`accepts ${f} whole and refuses it cut`, async () => {
      const b = readFileSync(join(DIR, f));
      expect(await reason(checkJpegScans(b))).toBeNull();
      expect(await reason(checkJpegScans(b.subarray(0, b.length - 40)))).toBe('truncated');
      if (!f.startsWith('progressive')) {
        // Cut in the middle of the scan data with an end marker appended: every block is walked.
        expect(await reason(checkJpegScans(Buffer.concat([b.subarray(0, Math.floor(b.length * 0.6)), EOI])))).toMatch(/truncated|corrupt/);
      }
    });
  }
});
