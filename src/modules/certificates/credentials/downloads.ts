/**
 * Organizer downloads. The ZIP of a campaign's certificates is streamed: credentials are read in
 * keyset pages of 200, rendered a few at a time and written one by one as STORED entries (PNGs
 * are compressed already) through zip-stream, waiting for the HTTP client whenever its buffer is
 * full; memory holds only the certificates in flight plus the central directory (ZIP64 past 65,535
 * entries). The print PDF puts a chosen set on pages at 300 dpi, also written as it renders.
 */
import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';

import type { CampaignRow } from '../campaigns-repo.js';
import { PRINT_DPI, type Renderer } from '../rendering.js';
import type { Credentials } from './service.js';
import type { IssuedRepo, IssuedRow } from './repo.js';

const PAGE = 200;
/** Certificates rendered ahead of the one being written (rendering deflates on libuv's threads). */
const AHEAD = 3;

/** A file name for a certificate inside the ZIP: number, name and the id's start (unique), no path characters. */
export function zipEntryName(row: Pick<IssuedRow, 'number' | 'name' | 'public_id'>, ext: string): string {
  const safe = (s: string) =>
    s
      // eslint-disable-next-line no-control-regex -- control characters are what this strips
      .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_')
      .trim()
      .slice(0, 80);
  return `${row.number ? `${safe(row.number)}_` : ''}${safe(row.name)}_${row.public_id.slice(0, 8)}.${ext}`;
}

/** Every valid credential of a campaign, in issue order, page by page. */
async function* validRows(issued: IssuedRepo, campaignId: number): AsyncGenerator<IssuedRow> {
  let after = -1;
  for (;;) {
    const page = await issued.validAfter(campaignId, after, PAGE);
    if (page.length === 0) return;
    yield* page;
    after = Number(page[page.length - 1].status_index);
  }
}

/** Maps rows to rendered results keeping `ahead` renders in flight, in order. */
async function* renderedAhead<T>(
  rows: AsyncIterable<IssuedRow>,
  ahead: number,
  render: (r: IssuedRow) => Promise<T>,
): AsyncGenerator<[IssuedRow, T]> {
  const queue: Array<[IssuedRow, Promise<T>]> = [];
  for await (const row of rows) {
    const p = render(row);
    p.catch(() => undefined); // awaited below, in order; this keeps an early failure from being "unhandled"
    queue.push([row, p]);
    if (queue.length > ahead) {
      const [r, q] = queue.shift()!;
      yield [r, await q];
    }
  }
  for (const [r, q] of queue) yield [r, await q];
}

/**
 * The campaign's valid certificates as a ZIP stream (each PNG/PDF with its credential baked in).
 * `onError` hears a failure mid-stream (the response then ends short: the client sees a broken file).
 */
export function certificatesZip(
  deps: { issued: IssuedRepo; credentials: Credentials },
  campaign: CampaignRow,
  onError: (err: unknown) => void,
): Readable {
  const out = new PassThrough();
  let stopped = false;
  out.on('close', () => {
    stopped = true;
  });
  void (async () => {
    try {
      // zip-stream (with compress-commons and readable-stream, ~0.5 MB of code) on the first
      // download, not at start (issue 15, idle memory).
      const { default: ZipStream } = await import('zip-stream');
      const zip = new ZipStream({ store: true });
      zip.pipe(out);
      const rows = validRows(deps.issued, campaign.id);
      for await (const [row, file] of renderedAhead(rows, AHEAD, (r) => deps.credentials.file({ row: r, campaign }))) {
        if (stopped) break;
        await new Promise<void>((resolve, reject) =>
          zip.entry(file.bytes, { name: zipEntryName(row, file.format), date: new Date(Number(row.issued_at)) }, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
        // The client reads slower than we render: wait for it rather than buffer the campaign.
        if (zip.writableNeedDrain) await once(zip, 'drain');
      }
      zip.finalize();
    } catch (err) {
      onError(err);
      out.destroy(err as Error);
    }
  })();
  return out;
}

/** A minimal PDF writer that emits each object as it is made (offsets counted), then the xref. */
class StreamingPdf {
  private offsets: number[] = [];
  private offset = 0;
  private pages: number[] = [];
  constructor(private readonly push: (b: Buffer) => Promise<void>) {}
  private async write(b: Buffer) {
    this.offset += b.length;
    await this.push(b);
  }
  async start() {
    await this.write(Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'));
  }
  private async object(n: number, parts: Buffer[]) {
    this.offsets[n] = this.offset;
    await this.write(Buffer.from(`${n} 0 obj\n`));
    for (const p of parts) await this.write(p);
    await this.write(Buffer.from('\nendobj\n'));
  }
  /** One page showing a JPEG across it, sized so the image is `dpi` pixels per inch. */
  async page(jpeg: Buffer, width: number, height: number, dpi: number) {
    const n = 4 + this.pages.length * 3;
    const pw = Math.round(((width * 72) / dpi) * 100) / 100;
    const ph = Math.round(((height * 72) / dpi) * 100) / 100;
    await this.object(n, [
      Buffer.from(
        `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`,
      ),
      jpeg,
      Buffer.from('\nendstream'),
    ]);
    const content = Buffer.from(`q ${pw} 0 0 ${ph} 0 0 cm /Im0 Do Q\n`);
    await this.object(n + 1, [Buffer.from(`<< /Length ${content.length} >>\nstream\n`), content, Buffer.from('endstream')]);
    await this.object(n + 2, [
      Buffer.from(
        `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${pw} ${ph}] /TrimBox [0 0 ${pw} ${ph}] /Resources << /XObject << /Im0 ${n} 0 R >> >> /Contents ${n + 1} 0 R >>`,
      ),
    ]);
    this.pages.push(n + 2);
  }
  async end() {
    await this.object(2, [
      Buffer.from(`<< /Type /Pages /Kids [${this.pages.map((p) => `${p} 0 R`).join(' ')}] /Count ${this.pages.length} >>`),
    ]);
    await this.object(1, [Buffer.from('<< /Type /Catalog /Pages 2 0 R >>')]);
    await this.object(3, [Buffer.from('<< /Producer (volunteer-hub) /Title (Certificates for print, 300 dpi) >>')]);
    const size = this.offsets.length;
    let xref = `xref\n0 ${size}\n0000000000 65535 f \n`;
    for (let i = 1; i < size; i++) xref += `${String(this.offsets[i] ?? 0).padStart(10, '0')} 00000 n \n`;
    const startxref = this.offset;
    await this.write(
      Buffer.from(`${xref}trailer\n<< /Size ${size} /Root 1 0 R /Info 3 0 R >>\nstartxref\n${startxref}\n%%EOF\n`, 'latin1'),
    );
  }
}

/** A print-ready PDF of the given credentials: one page each, 300 dpi, A4's long side. */
export function printPdf(
  deps: { renderer: Renderer; credentials: Credentials },
  campaign: CampaignRow,
  rows: IssuedRow[],
  onError: (err: unknown) => void,
): Readable {
  const out = new PassThrough();
  const push = async (b: Buffer) => {
    if (!out.write(b)) await once(out, 'drain');
  };
  void (async () => {
    try {
      const pdf = new StreamingPdf(push);
      await pdf.start();
      async function* each() {
        yield* rows;
      }
      const render = (r: IssuedRow) =>
        deps.renderer.print({
          campaign,
          name: r.name,
          number: r.number,
          issuedAt: Number(r.issued_at),
          verifyUrl: deps.credentials.urls.credential(r.public_id),
          fields: deps.credentials.facts(r, campaign).fields,
        });
      for await (const [, img] of renderedAhead(each(), 1, render)) await pdf.page(img.bytes, img.width, img.height, PRINT_DPI);
      await pdf.end();
      out.end();
    } catch (err) {
      onError(err);
      out.destroy(err as Error);
    }
  })();
  return out;
}
