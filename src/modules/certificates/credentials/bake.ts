/**
 * Baking (Open Badges 3.0, "Baked badges"): the credential travels inside the certificate image.
 * PNG: an iTXt chunk with the keyword `openbadgecredential`, uncompressed, whose text is the
 * credential (here its VC-JWT, the compact JWS), placed right after IHDR. The PDF carries the same
 * as an embedded file (render/pdf.ts).
 */
import zlib from 'node:zlib';
// zlib.crc32 is Node 20.15+; the project needs 20.19.

export const BAKE_KEYWORD = 'openbadgecredential';
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return out;
}

/** The PNG with the credential in an iTXt chunk (an earlier `openbadgecredential` chunk is replaced). */
export function bakePng(png: Buffer, credential: string): Buffer {
  if (png.length < 33 || !png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  // keyword, NUL, compression flag 0, method 0, empty language tag + NUL, empty translated keyword + NUL, text.
  const data = Buffer.concat([Buffer.from(BAKE_KEYWORD, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(credential, 'utf8')]);
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  const rest: Buffer[] = [];
  for (let p = ihdrEnd; p + 12 <= png.length;) {
    const len = png.readUInt32BE(p);
    const type = png.toString('latin1', p + 4, p + 8);
    const end = p + 12 + len;
    const isOld = type === 'iTXt' && png.toString('latin1', p + 8, p + 8 + BAKE_KEYWORD.length + 1) === `${BAKE_KEYWORD}\0`;
    if (!isOld) rest.push(png.subarray(p, end));
    p = end;
  }
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk('iTXt', data), ...rest]);
}
