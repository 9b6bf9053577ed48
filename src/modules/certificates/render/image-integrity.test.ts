import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeTemplate } from '../../../../test/fixtures/templates/generate.js';
import { crc32 } from 'node:zlib';
import { ImageRejected, verifyTemplate } from './index.js';

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A 4x4 grey PNG built by hand, with its image data replaced by `idat` (CRCs all correct). */
function png(idat: Buffer, opts: { interlace?: number } = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(4, 0);
  ihdr.writeUInt32BE(4, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  ihdr[12] = opts.interlace ?? 0;
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

async function reason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageRejected);
  return (err as ImageRejected).reason;
}

describe('verifyTemplate (upload-time integrity)', () => {
  it('accepts whole PNG and JPEG files, interlaced too, and reports their size', async () => {
    expect(await verifyTemplate(await makeTemplate({ width: 300, height: 200 }))).toEqual({ type: 'png', width: 300, height: 200 });
    expect(await verifyTemplate(await makeTemplate({ width: 300, height: 200, format: 'jpeg' }))).toEqual({
      type: 'jpeg',
      width: 300,
      height: 200,
    });
    expect(await verifyTemplate(png(deflateSync(Buffer.alloc(4 * 5, 0))))).toMatchObject({ width: 4, height: 4 });
    // Adam7 passes of a 4x4 grey image hold 2+0+0+2+3+6+10 = 23 bytes (filter bytes included).
    expect(await verifyTemplate(png(deflateSync(Buffer.alloc(23, 0)), { interlace: 1 }))).toMatchObject({ width: 4, height: 4 });
    expect(await reason(verifyTemplate(png(deflateSync(Buffer.alloc(20, 0)), { interlace: 1 })))).toBe('truncated');
  });

  it('refuses damaged data that a decoder would silently draw as garbage', async () => {
    const good = await makeTemplate({ style: 'decorated', width: 200, height: 300 });
    const flipped = Buffer.from(good);
    for (let i = 200; i < 240; i++) flipped[i] ^= 0x5a;
    expect(await reason(verifyTemplate(flipped))).toBe('corrupt'); // chunk CRC
    expect(await reason(verifyTemplate(good.subarray(0, good.length - 500)))).toBe('truncated');
    // Valid CRCs, but the zlib stream is wrong: bad Adler-32, too short, too long, not zlib.
    const z = deflateSync(Buffer.alloc(4 * 5, 0));
    const badAdler = Buffer.from(z);
    badAdler[badAdler.length - 1] ^= 1;
    expect(await reason(verifyTemplate(png(badAdler)))).toBe('corrupt');
    expect(await reason(verifyTemplate(png(deflateSync(Buffer.alloc(4 * 5 - 3, 0)))))).toBe('truncated');
    expect(await reason(verifyTemplate(png(deflateSync(Buffer.alloc(4 * 5 + 3, 0)))))).toBe('corrupt');
    expect(await reason(verifyTemplate(png(Buffer.from('not zlib at all'))))).toBe('corrupt');
    expect(await reason(verifyTemplate(png(z.subarray(0, z.length - 6))))).toBe('truncated');
    const jpeg = await makeTemplate({ format: 'jpeg', width: 200, height: 300, style: 'decorated' });
    expect(await reason(verifyTemplate(jpeg.subarray(0, jpeg.length - 100)))).toBe('truncated');
  });
});
