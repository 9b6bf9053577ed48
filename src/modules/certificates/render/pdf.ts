import { zlibStream, type EncodedRaster } from './png-encode.js';
import type { PdfAttachment } from './types.js';

/** Longest page side in points: A4's long side, so a certificate prints at a familiar size. */
const PAGE_LONG_SIDE_PT = 842;

/**
 * Writes a minimal single-page PDF 1.4 showing the rendered raster across the whole page.
 * The image is the very zlib stream of the PNG (PNG-predicted rows, which PDF's FlateDecode
 * understands with /Predictor 15), so a PDF costs no extra compression and shows exactly the
 * pixels of the PNG preview. The page keeps the image's proportions; its long side is 842 pt.
 * No dates or random ids are written: same raster, same bytes.
 * Attachments become embedded files (the document's EmbeddedFiles name tree, and /AF, as PDF/A-3
 * associates files), e.g. the signed credential a verifier can take out of the PDF.
 */
export function writePdf(r: EncodedRaster, attachments: PdfAttachment[] = []): Buffer {
  const scale = PAGE_LONG_SIDE_PT / Math.max(r.width, r.height);
  const pw = num(r.width * scale);
  const ph = num(r.height * scale);
  const image = zlibStream(r.idat);
  const content = Buffer.from(`q ${pw} 0 0 ${ph} 0 0 cm /Im0 Do Q\n`, 'latin1');
  // Objects 1-6 as always; each attachment adds an EmbeddedFile stream and its file spec after them.
  const specRefs = attachments.map((_, i) => `${8 + 2 * i} 0 R`);
  const names = attachments.map((a, i) => `${pdfString(a.name)} ${specRefs[i]}`).join(' ');
  const catalog = attachments.length
    ? `<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [${names}] >> >> /AF [${specRefs.join(' ')}] >>`
    : '<< /Type /Catalog /Pages 2 0 R >>';
  const objects: Buffer[][] = [
    [Buffer.from(catalog)],
    [Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>')],
    [Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${pw} ${ph}] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>`)],
    [
      Buffer.from(
        `<< /Type /XObject /Subtype /Image /Width ${r.width} /Height ${r.height} /ColorSpace /DeviceRGB /BitsPerComponent 8 ` +
          `/Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors 3 /BitsPerComponent 8 /Columns ${r.width} >> /Length ${image.length} >>\nstream\n`,
      ),
      image,
      Buffer.from('\nendstream'),
    ],
    [Buffer.from(`<< /Length ${content.length} >>\nstream\n`), content, Buffer.from('endstream')],
    [Buffer.from('<< /Producer (volunteer-hub) >>')],
  ];
  attachments.forEach((a, i) => {
    objects.push([
      Buffer.from(
        `<< /Type /EmbeddedFile /Subtype /${a.mime.replace(/[^A-Za-z0-9.+-]/g, (c) => `#${c.charCodeAt(0).toString(16).padStart(2, '0')}`)} /Params << /Size ${a.bytes.length} >> /Length ${a.bytes.length} >>\nstream\n`,
      ),
      a.bytes,
      Buffer.from('\nendstream'),
    ]);
    objects.push([
      Buffer.from(
        `<< /Type /Filespec /F ${pdfString(a.name)} /UF ${pdfString(a.name)} /AFRelationship /Data ${a.description ? `/Desc ${pdfString(a.description)} ` : ''}/EF << /F ${7 + 2 * i} 0 R /UF ${7 + 2 * i} 0 R >> >>`,
      ),
    ]);
  });
  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(offset);
    const head = Buffer.from(`${i + 1} 0 obj\n`);
    const tail = Buffer.from('\nendobj\n');
    parts.push(head, ...body, tail);
    offset += head.length + tail.length + body.reduce((n, b) => n + b.length, 0);
  });
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${offset}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}

function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A PDF literal string of ASCII text (names of our attachments): backslash, parentheses escaped. */
function pdfString(s: string): string {
  return `(${s.replace(/[^\x20-\x7e]/g, '_').replace(/[\\()]/g, (c) => `\\${c}`)})`;
}
