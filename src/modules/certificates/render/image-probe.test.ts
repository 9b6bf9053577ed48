import { describe, expect, it } from 'vitest';
import { makeTemplate } from '../../../../test/fixtures/templates/generate.js';
import { crc32 } from 'node:zlib';
import { ImageRejected, probeImage } from './index.js';

/** A PNG that is only a signature and an IHDR claiming the given size (plus fake IDAT/IEND). */
function pngHeader(width: number, height: number, opts: { badCrc?: boolean; colorType?: number } = {}): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr[16] = 8;
  ihdr[17] = opts.colorType ?? 6;
  ihdr.writeUInt32BE((crc32(ihdr.subarray(4, 21)) ^ (opts.badCrc ? 1 : 0)) >>> 0, 21);
  const sig = Buffer.from('89504e470d0a1a0a', 'hex');
  const tail = Buffer.from('0000000049444154' + 'deadbeef' + '0000000049454e44ae426082', 'hex');
  return Buffer.concat([sig, ihdr, tail]);
}

function rejected(buf: Buffer): ImageRejected {
  try {
    probeImage(buf);
  } catch (err) {
    expect(err).toBeInstanceOf(ImageRejected);
    expect((err as Error).message.length).toBeGreaterThan(10);
    return err as ImageRejected;
  }
  throw new Error('expected ImageRejected');
}

describe('probeImage', () => {
  it('identifies real PNG and JPEG files by content', async () => {
    expect(probeImage(await makeTemplate())).toEqual({ type: 'png', width: 750, height: 1200 });
    expect(probeImage(await makeTemplate({ format: 'jpeg', width: 640, height: 480 }))).toEqual({ type: 'jpeg', width: 640, height: 480 });
  });

  it('refuses a text file (whatever its name) and other formats', () => {
    expect(rejected(Buffer.from('name,email\nAlice,a@x.org\n')).reason).toBe('not_image');
    expect(rejected(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')).reason).toBe('not_image');
    expect(rejected(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')).reason).toBe('not_image');
    expect(rejected(Buffer.alloc(0)).reason).toBe('not_image');
  });

  it('refuses a 30000x30000 PNG header without decoding anything', () => {
    const bomb = pngHeader(30000, 30000);
    expect(bomb.length).toBeLessThan(100);
    const err = rejected(bomb);
    expect(err.reason).toBe('too_many_pixels');
    expect(err.message).toContain('30000x30000');
    // Just under the limit passes the probe; just over fails.
    expect(probeImage(pngHeader(8000, 5000))).toEqual({ type: 'png', width: 8000, height: 5000 });
    expect(rejected(pngHeader(8000, 5001)).reason).toBe('too_many_pixels');
    expect(rejected(pngHeader(40000, 10)).reason).toBe('bad_dimensions');
  });

  it('refuses truncated and corrupt headers and zero sizes', async () => {
    const png = await makeTemplate({ width: 100, height: 100 });
    expect(rejected(png.subarray(0, 20)).reason).toBe('truncated');
    expect(rejected(png.subarray(0, 8)).reason).toBe('truncated');
    expect(rejected(pngHeader(100, 100, { badCrc: true })).reason).toBe('truncated');
    expect(rejected(pngHeader(100, 100, { colorType: 5 })).reason).toBe('truncated');
    expect(rejected(pngHeader(0, 100)).reason).toBe('bad_dimensions');
    const jpeg = await makeTemplate({ format: 'jpeg', width: 100, height: 100 });
    expect(rejected(jpeg.subarray(0, 4)).reason).toBe('truncated');
    // A JPEG whose first segment has a broken length.
    expect(rejected(Buffer.from('ffd8ffe00001', 'hex')).reason).toBe('truncated');
    // A JPEG frame header claiming 0 height.
    expect(rejected(Buffer.from('ffd8ffc0000b08000000640301', 'hex')).reason).toBe('bad_dimensions');
  });

  it('refuses more than 20 MB before looking further', () => {
    const big = Buffer.alloc(20 * 1024 * 1024 + 1);
    pngHeader(100, 100).copy(big);
    expect(rejected(big).reason).toBe('too_large');
  });
});
