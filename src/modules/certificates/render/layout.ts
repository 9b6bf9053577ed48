/**
 * The certificate layout: its types and the geometry both the renderer (render.ts) and the
 * console's template editor (web/admin/layout.ts) use, so the stage shows what the certificate
 * prints. No server-only imports here (no Node, no canvas): the console page bundles this file.
 */

export type Align = 'left' | 'center' | 'right';

export interface TextField {
  /** Anchor in template pixels; the text is centred vertically on y; horizontally x is the
   * left edge / centre / right edge per `align`. A negative x or y leaves the field out. */
  x: number;
  y: number;
  /** Font size in px. */
  size: number;
  /** '#rrggbb'. */
  color: string;
  /** Default 'center' for name, 'left' for number/date. */
  align: Align;
  /** Text wider than this shrinks to fit; default: template width minus margins. */
  maxWidth?: number;
  /** Font id, kept for compatibility: every field is drawn in the bundled Noto Sans SC ('default'). */
  font?: string;
}

/** Date field; `format` tokens: YYYY MM DD M D (default 'YYYY年MM月DD日'). */
export interface DateField extends TextField {
  format?: string;
}

/** QR code of the verify URL; negative x or y = omitted. x/y = top-left corner, size = side in px. */
export interface QrField {
  x: number;
  y: number;
  size: number;
}

export interface Layout {
  name: TextField;
  number: TextField;
  date: DateField;
  qr: QrField;
}

/**
 * A sensible starting layout for a template of the given size: the name centred a little above
 * the middle, number bottom-left, date bottom-right area, QR omitted (negative position) until
 * the organizer places it, since templates often have artwork in the corners.
 */
export function defaultLayout(width: number, height: number): Layout {
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  const margin = Math.round(w * 0.08);
  const nameSize = Math.max(12, Math.round(w / 14));
  const smallSize = Math.max(10, Math.round(w / 40));
  return {
    name: {
      x: Math.round(w / 2),
      y: Math.round(h * 0.45),
      size: nameSize,
      color: '#000000',
      align: 'center',
      maxWidth: w - 2 * margin,
      font: 'default',
    },
    number: {
      x: margin,
      y: Math.round(h * 0.9),
      size: smallSize,
      color: '#333333',
      align: 'left',
      font: 'default',
    },
    date: {
      x: Math.round(w * 0.6),
      y: Math.round(h * 0.9),
      size: smallSize,
      color: '#333333',
      align: 'left',
      font: 'default',
      format: 'YYYY年MM月DD日',
    },
    qr: { x: -1, y: -1, size: Math.max(64, Math.round(Math.min(w, h) * 0.15)) },
  };
}

/** Whether a field is on the certificate: a negative (or non-finite) x or y leaves it out. */
export function isPlaced(f: { x: number; y: number }): boolean {
  return Number.isFinite(f.x) && Number.isFinite(f.y) && f.x >= 0 && f.y >= 0;
}

/** Gap kept between text and the template's edge, as a share of the template's width. */
export const EDGE_MARGIN_RATIO = 0.02;

/**
 * The widest a line may be at x with this alignment: the layout's maxWidth, never past the
 * template's edges minus the margin. The renderer shrinks text to it; the editor sizes the
 * name's marker by it.
 */
export function widthLimit(templateWidth: number, x: number, align: Align, maxWidth?: number | null): number {
  const margin = Math.round(templateWidth * EDGE_MARGIN_RATIO);
  const room =
    align === 'left' ? templateWidth - margin - x : align === 'right' ? x - margin : 2 * Math.min(x - margin, templateWidth - margin - x);
  // The editor's number inputs may hold '' or a numeric string while being typed.
  const max = Number(maxWidth);
  const wanted = maxWidth != null && Number.isFinite(max) && max > 0 ? max : Infinity;
  return Math.max(0, Math.min(room, wanted));
}
