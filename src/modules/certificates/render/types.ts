/**
 * The certificate rendering interface (see /tmp/certificates-contract.md, "Render interface").
 * Types only (implementation files import from here, so this file imports no values). Callers
 * outside render/ import everything, types and functions, from ./index.ts.
 */
import type { Canvas, SKRSContext2D } from '@napi-rs/canvas';

// The layout's types live beside the layout code (layout.ts), which the console page shares.
import type { Layout, TextField } from './layout.js';
export type { Align, DateField, Layout, QrField, TextField } from './layout.js';

export interface RenderInput {
  /** PNG or JPEG bytes. */
  template: Buffer;
  /** Cache key (e.g. sha256 of template) so a decoded template is reused. */
  templateKey?: string;
  layout: Layout;
  name: string;
  number?: string | null;
  /** ms since epoch; rendered in `timeZone`. */
  issuedAt: number;
  /** IANA zone, e.g. 'Asia/Shanghai'. */
  timeZone: string;
  /** What the QR encodes. */
  verifyUrl?: string;
  format: 'png' | 'pdf';
  /** Extra text fields (the campaign's custom fields), drawn like the number; empty texts are left out. */
  texts?: Array<{ field: TextField; text: string }>;
  /** Files embedded in a PDF (e.g. the signed credential); ignored for PNG. */
  attachments?: PdfAttachment[];
}

/** A file embedded in the PDF (an EmbeddedFile in the document's EmbeddedFiles name tree). */
export interface PdfAttachment {
  name: string;
  mime: string;
  bytes: Buffer;
  description?: string;
}

export type NameCheckResult =
  | { ok: true; name: string }
  | {
      ok: false;
      reason: 'empty' | 'too_long' | 'control_chars' | 'unsupported_chars';
      message: string;
      chars?: string[];
    };

export interface ImageInfo {
  type: 'png' | 'jpeg';
  width: number;
  height: number;
}

/** A decoded template in the render cache (template-cache.ts), as the drawing and the PNG encoder use it. */
export interface TemplateEntry {
  key: string;
  width: number;
  height: number;
  /** Bytes the decoded pixels take (for the cache budget). */
  cost: number;
  /** Paints template rows [top, top + rows) at the canvas's y = 0 (white under transparent areas). */
  paint(ctx: SKRSContext2D, top: number, rows: number): void;
  /**
   * A canvas of the template's width and exactly `rows` rows, the same one for each call with that
   * many rows (the last few sizes are kept): for drawing a band and reading its pixels back before
   * the next call (no await in between). Its contents and state are whatever the last user left.
   */
  band(rows: number): { canvas: Canvas; ctx: SKRSContext2D };
  /** The whole template scaled to width x height (white under transparency), cached per size. */
  scaled(width: number, height: number): Canvas;
  /** Per-template data the PNG encoder derives once (precompressed bands). */
  encoderState?: unknown;
}
