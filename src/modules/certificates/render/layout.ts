import type { Layout } from './types.js';

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
