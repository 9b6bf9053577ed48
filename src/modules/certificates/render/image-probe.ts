import { crc32 } from 'node:zlib';
import { ImageRejected } from './errors.js';
import type { ImageInfo } from './types.js';

/** Largest template accepted, in bytes (issue 2: 20 MB). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** Largest template accepted, in pixels (issue 2: 40 megapixels). */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** Either side longer than this is absurd for a certificate, even under the pixel limit. */
export const MAX_IMAGE_SIDE = 20_000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Identifies a PNG or JPEG template by its content (magic bytes, PNG IHDR, JPEG SOFn marker) and
 * returns its type and size WITHOUT decoding it, so a decompression bomb (a 30000x30000 header)
 * is refused in microseconds. Throws ImageRejected with a user-facing message otherwise.
 */
export function probeImage(buf: Buffer): ImageInfo {
  if (!((buf as unknown) instanceof Uint8Array)) {
    throw new ImageRejected('not_image', 'The template must be a PNG or JPEG image.');
  }
  if (buf.length > MAX_IMAGE_BYTES) {
    throw new ImageRejected('too_large', `The template is ${(buf.length / 1048576).toFixed(1)} MB; the limit is 20 MB.`);
  }
  const info = isPng(buf) ? probePng(buf) : isJpeg(buf) ? probeJpeg(buf) : null;
  if (!info) {
    throw new ImageRejected('not_image', 'The template is not a PNG or JPEG image (checked by its content, not its name).');
  }
  checkDimensions(info.width, info.height);
  return info;
}

function isPng(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  for (let i = 0; i < 8; i++) if (b[i] !== PNG_SIGNATURE[i]) return false;
  return true;
}

function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function checkDimensions(width: number, height: number): void {
  if (width < 1 || height < 1) {
    throw new ImageRejected('bad_dimensions', `The template's size ${width}x${height} is not valid.`);
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageRejected(
      'too_many_pixels',
      `The template is ${width}x${height} pixels (${((width * height) / 1e6).toFixed(1)} megapixels); the limit is 40 megapixels.`,
    );
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new ImageRejected('bad_dimensions', `The template is ${width}x${height} pixels; no side may exceed ${MAX_IMAGE_SIDE}.`);
  }
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function probePng(b: Uint8Array): ImageInfo {
  // Signature (8) + IHDR chunk: length (4) 'IHDR' (4) data (13) CRC (4) = 33 bytes minimum.
  if (b.length < 33) throw new ImageRejected('truncated', 'The PNG template is truncated (no complete header).');
  if (u32(b, 8) !== 13 || b[12] !== 0x49 || b[13] !== 0x48 || b[14] !== 0x44 || b[15] !== 0x52) {
    throw new ImageRejected('truncated', 'The PNG template is corrupt: its first chunk is not a valid IHDR.');
  }
  const width = u32(b, 16);
  const height = u32(b, 20);
  const bitDepth = b[24];
  const colorType = b[25];
  const validDepths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!validDepths[colorType]?.includes(bitDepth) || b[26] !== 0 || b[27] !== 0 || b[28] > 1) {
    throw new ImageRejected('truncated', 'The PNG template is corrupt: its header has invalid values.');
  }
  if (crc32(b.subarray(12, 29)) >>> 0 !== u32(b, 29)) {
    throw new ImageRejected('truncated', 'The PNG template is corrupt: its header checksum is wrong.');
  }
  // A real PNG has at least one IDAT and an IEND after the header.
  if (b.length < 33 + 12 + 12) throw new ImageRejected('truncated', 'The PNG template is truncated (no image data).');
  return { type: 'png', width, height };
}

function probeJpeg(b: Uint8Array): ImageInfo {
  let o = 2;
  // Walk the marker segments up to the first SOFn (frame header) carrying the size.
  while (o < b.length) {
    if (b[o] !== 0xff) throw new ImageRejected('truncated', 'The JPEG template is corrupt: a marker was expected.');
    // Fill bytes (0xFF repeated) are allowed before a marker.
    while (o < b.length && b[o] === 0xff) o++;
    if (o >= b.length) break;
    const marker = b[o++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) {
      throw new ImageRejected('truncated', 'The JPEG template is corrupt: no frame header before the image data.');
    }
    if (o + 2 > b.length) break;
    const len = u16(b, o);
    if (len < 2) throw new ImageRejected('truncated', 'The JPEG template is corrupt: a segment has an invalid length.');
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (len < 8 || o + 7 > b.length) break;
      const height = u16(b, o + 3);
      const width = u16(b, o + 5);
      // Height 0 means "defined by a later DNL marker": too unusual to accept for a template.
      return { type: 'jpeg', width, height };
    }
    o += len;
  }
  throw new ImageRejected('truncated', 'The JPEG template is truncated (no complete frame header).');
}
