import type { SKRSContext2D } from '@napi-rs/canvas';
import { skia } from './canvas.js';
import { formatDate, DEFAULT_DATE_FORMAT } from './date-format.js';
import { RenderRefused } from './errors.js';
import { canDraw, fontStack, getFont } from './fonts.js';
import { checkName } from './name-check.js';
import { drawQr, qrBox } from './qr.js';
import { loadTemplate } from './template-cache.js';
import type { TemplateEntry } from './types.js';
import { assemblePng, dirtyRuns, encodeRaster } from './png-encode.js';
import { writePdf } from './pdf.js';
import { isPlaced, widthLimit } from './layout.js';
import type { Align, RenderInput, TextField } from './types.js';

/** A horizontal band of rows [top, bottom) that a field may draw on. */
export interface Band {
  top: number;
  bottom: number;
}

/** A field ready to draw: the rows it may touch (it is clipped to them) and how to draw it. */
export interface PlacedField extends Band {
  draw(ctx: SKRSContext2D): void;
  /** The QR code's text and box in template pixels (the QR field only). */
  qr?: { text: string; x: number; y: number; size: number };
}

/**
 * Renders a certificate: the template with the name, number, date and QR code drawn where the
 * layout puts them (a negative x or y leaves a field out). The output depends only on the
 * inputs (same inputs, same bytes), so a certificate can be re-rendered at any time.
 * Throws RenderRefused for a name/number/date the fonts cannot draw (never draws empty boxes)
 * and ImageRejected for a template that is not an acceptable PNG/JPEG.
 *
 * Only the bands of rows that fields touch are drawn and encoded (see png-encode.ts); the rest
 * of the image comes from the template's precomputed encoding.
 */
export async function renderCertificate(input: RenderInput): Promise<Buffer> {
  const tpl = await loadTemplate(input.template, input.templateKey);
  const fields = placeFields(tpl, input);
  // Each band is drawn and read back before the next (no await): one canvas per band height serves
  // every render. Its pixels are read as stored (premultiplied): every pixel is opaque (paint puts
  // white under the template, fields draw opaque colours), so they are the bytes getImageData
  // gives, without its per-pixel unpremultiply (getImageData was ~7% of the main thread under 8
  // clients' claims, this copy a quarter of that: bench/README.md "Claims, a ninth pass").
  const runs = dirtyRuns(fields, tpl.height).map((run) => {
    const { canvas, ctx } = tpl.band(run.rows);
    ctx.save();
    tpl.paint(ctx, run.top, run.rows);
    ctx.translate(0, -run.top);
    for (const f of fields) if (f.bottom > run.top && f.top < run.top + run.rows) f.draw(ctx);
    ctx.restore();
    return { ...run, rgba: canvas.data() };
  });
  const raster = await encodeRaster(tpl, runs);
  return input.format === 'pdf' ? writePdf(raster, input.attachments) : assemblePng(raster);
}

/** Options of a preview: a smaller image, quick to send to a phone or to redraw while dragging. */
export interface PreviewOptions {
  /** Longest width in pixels (default 900); never enlarged past the template's width. */
  maxWidth?: number;
  /**
   * At most this many pixels (width x height), the proportions kept: the JPEG encoder's time
   * grows with the pixel count, so this bounds a preview's CPU whatever the page's orientation.
   */
  maxPixels?: number;
  /** 'jpeg' (default: small, fast) or 'png'. */
  format?: 'jpeg' | 'png';
  /**
   * Exact output width, enlarging when larger than the template (print at 300 dpi): the template
   * is scaled smoothly, while text and QR are drawn at the output resolution, so they stay sharp.
   */
  width?: number;
  /** JPEG quality 1-100 (default 85). */
  quality?: number;
}

/**
 * Renders a scaled-down preview of the certificate: the same checks, placement and shrink-to-fit
 * as renderCertificate (it is the same picture, scaled), encoded as JPEG by default, so a live
 * preview of a print-size template is tens of KB rather than megabytes. Not for the certificate
 * itself (use renderCertificate).
 */
export async function renderPreview(
  input: Omit<RenderInput, 'format'>,
  opts: PreviewOptions = {},
): Promise<{ bytes: Buffer; contentType: 'image/jpeg' | 'image/png'; width: number; height: number }> {
  const tpl = await loadTemplate(input.template, input.templateKey);
  const fields = placeFields(tpl, { ...input, format: 'png' });
  const maxWidth = Number.isFinite(opts.maxWidth) && opts.maxWidth! >= 16 ? Math.floor(opts.maxWidth!) : 900;
  const maxPixels = Number.isFinite(opts.maxPixels) && opts.maxPixels! >= 256 ? opts.maxPixels! : Infinity;
  const scale =
    Number.isFinite(opts.width) && opts.width! >= 16
      ? Math.min(20_000, Math.floor(opts.width!)) / tpl.width
      : Math.min(1, maxWidth / tpl.width, Math.sqrt(maxPixels / (tpl.width * tpl.height)));
  const width = Math.max(1, Math.round(tpl.width * scale));
  const height = Math.max(1, Math.round(tpl.height * scale));
  const canvas = skia().createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(tpl.scaled(width, height), 0, 0);
  const sx = width / tpl.width;
  const sy = height / tpl.height;
  ctx.setTransform(sx, 0, 0, sy, 0, 0);
  for (const f of fields) if (!(f.qr && scale < 1)) f.draw(ctx);
  // Scaled down, the QR code is drawn in the output's own pixels, each module edge on a whole
  // pixel: drawn at the template's size and scaled, its modules blur into each other (a 400 px
  // preview of an A4 page has ~1.8 px per module) and it no longer reads.
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  for (const f of fields) if (f.qr && scale < 1) drawQr(ctx, f.qr.text, f.qr.x * sx, f.qr.y * sy, f.qr.size * Math.min(sx, sy));
  if (opts.format === 'png') return { bytes: await canvas.encode('png'), contentType: 'image/png', width, height };
  const quality = Number.isFinite(opts.quality) ? Math.min(100, Math.max(1, Math.round(opts.quality!))) : 85;
  return { bytes: await canvas.encode('jpeg', quality), contentType: 'image/jpeg', width, height };
}

/** Draws the whole certificate on one canvas (reference for tests, and the bench's draw cost). */
export function drawCertificate(tpl: TemplateEntry, input: RenderInput) {
  const canvas = skia().createCanvas(tpl.width, tpl.height);
  const ctx = canvas.getContext('2d');
  tpl.paint(ctx, 0, tpl.height);
  const fields = placeFields(tpl, input);
  for (const f of fields) f.draw(ctx);
  return { canvas, bands: fields.map(({ top, bottom }) => ({ top, bottom })) };
}

/**
 * Checks the texts and works out where each field goes (measuring text for shrink-to-fit);
 * omitted fields are absent. Bands are clamped to the image.
 */
export function placeFields(tpl: { width: number; height: number }, input: RenderInput): PlacedField[] {
  // A layout from storage may lack a field entirely: treat it as omitted (never a TypeError).
  const omitted = { x: -1, y: -1, size: 0, color: '#000000', align: 'left' as const };
  const layout = {
    name: input.layout?.name ?? omitted,
    number: input.layout?.number ?? omitted,
    date: input.layout?.date ?? omitted,
    qr: input.layout?.qr ?? omitted,
  };
  const out: Array<PlacedField | null> = [];
  const name = checkName(input.name);
  if (!name.ok) throw new RenderRefused('name', name.reason, name.message, name.chars);
  out.push(placeText(tpl, layout.name, name.name, 'center'));

  const number = input.number == null || !isPlaced(layout.number) ? '' : String(input.number).normalize('NFC').trim();
  if (number) out.push(placeText(tpl, layout.number, requireDrawable('number', number), 'left'));

  const dateFormat =
    'format' in layout.date && typeof layout.date.format === 'string' && layout.date.format ? layout.date.format : DEFAULT_DATE_FORMAT;
  const date = isPlaced(layout.date) ? formatDate(input.issuedAt, input.timeZone, dateFormat) : '';
  if (date) out.push(placeText(tpl, layout.date, requireDrawable('date', date), 'left'));

  for (const t of input.texts ?? []) {
    const text = String(t.text ?? '')
      .normalize('NFC')
      .trim();
    if (text && t.field && isPlaced(t.field)) out.push(placeText(tpl, t.field, requireDrawable('field', text), 'left'));
  }

  const qr = layout.qr;
  const url = input.verifyUrl;
  if (url && isPlaced(qr) && Number.isFinite(qr.size) && qr.size > 0) {
    const size = Math.min(qr.size, tpl.width, tpl.height);
    const box = qrBox(url, qr.x, qr.y, size);
    out.push({
      top: box.y,
      bottom: box.y + box.h,
      draw: (ctx) => drawQr(ctx, url, qr.x, qr.y, size),
      qr: { text: url, x: qr.x, y: qr.y, size },
    });
  }
  return out
    .filter((f): f is PlacedField => f !== null)
    .map((f) => ({ ...f, top: Math.max(0, Math.floor(f.top)), bottom: Math.min(tpl.height, Math.ceil(f.bottom)) }))
    .filter((f) => f.bottom > f.top);
}

function requireDrawable(field: 'number' | 'date' | 'field', text: string): string {
  const bad = [...new Set([...text].filter((ch) => /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(ch) || !canDraw(ch.codePointAt(0)!)))];
  if (bad.length) {
    throw new RenderRefused(
      field,
      'unsupported_chars',
      `The certificate ${field} contains characters the font cannot draw: ${bad.join(' ')}`,
      bad,
    );
  }
  return text;
}

const COLOR_RE = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/** Shared context for measuring text (measuring does not depend on the canvas). */
let measureCtx: SKRSContext2D | null = null;

/**
 * Places one line of text centred vertically on field.y, aligned on field.x, shrunk to fit its
 * width limit; drawing is clipped to the box it reports (so nothing is ever drawn outside it).
 * Returns null when the field is omitted.
 */
export function placeText(tpl: { width: number; height: number }, field: TextField, text: string, defaultAlign: Align): PlacedField | null {
  if (!isPlaced(field) || !text) return null;
  const align: Align = field.align === 'left' || field.align === 'right' || field.align === 'center' ? field.align : defaultAlign;
  const limit = widthLimit(tpl.width, field.x, align, field.maxWidth);
  if (limit < 1) return null;
  const font = getFont(field.font);
  const stack = fontStack();
  const ctx = (measureCtx ??= skia().createCanvas(1, 1).getContext('2d'));
  let size = clampSize(field.size);
  ctx.font = `${size}px ${stack}`;
  let width = inkWidth(ctx, text);
  if (width > limit) {
    // Advance widths scale linearly with the size; the loop absorbs rounding and hinting.
    size = Math.max(1, Math.floor(size * (limit / width) * 100) / 100);
    ctx.font = `${size}px ${stack}`;
    width = inkWidth(ctx, text);
    for (let i = 0; width > limit && size > 1 && i < 20; i++) {
      size = Math.max(1, Math.floor(size * 0.97 * 100) / 100);
      ctx.font = `${size}px ${stack}`;
      width = inkWidth(ctx, text);
    }
  }
  // Centre the cap height (and so Latin capitals and CJK ideographs) on y.
  const baseline = field.y + (font.capHeight * size) / 2;
  const left = align === 'left' ? field.x : align === 'right' ? field.x - limit : field.x - limit / 2;
  // The drawn (and clipped) box: the font's line extent plus a little for marks beyond it.
  const top = Math.floor(baseline - (font.ascent + 0.1) * size) - 1;
  const bottom = Math.ceil(baseline + (font.descent + 0.1) * size) + 1;
  const color = COLOR_RE.test(field.color) ? field.color : '#000000';
  const fontSpec = `${size}px ${stack}`;
  return {
    top,
    bottom,
    draw(c) {
      c.save();
      c.beginPath();
      c.rect(Math.floor(left), top, Math.ceil(limit), bottom - top);
      c.clip();
      c.font = fontSpec;
      c.textAlign = align;
      c.textBaseline = 'alphabetic';
      c.fillStyle = color;
      c.fillText(text, field.x, baseline);
      c.restore();
    },
  };
}

function clampSize(size: number): number {
  return Number.isFinite(size) ? Math.min(Math.max(size, 1), 2000) : 32;
}

function inkWidth(ctx: SKRSContext2D, text: string): number {
  const m = ctx.measureText(text);
  // The ink can reach past the advance width (italics, overhanging glyphs): take the larger.
  return Math.max(m.width, (m.actualBoundingBoxLeft ?? 0) + (m.actualBoundingBoxRight ?? 0));
}

/**
 * Loads the bundled font into Skia and the JIT paths ahead of the first request (the first
 * render otherwise pays ~0.3-0.7 s for it). Optional; call at server/worker start.
 */
export async function warmUpRenderer(): Promise<void> {
  const canvas = skia().createCanvas(64, 64);
  const ctx = canvas.getContext('2d');
  ctx.font = `16px ${fontStack()}`;
  ctx.fillText('证书 Aa', 0, 32);
  checkName('证书');
}
