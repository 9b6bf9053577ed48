/** Layout helpers for the template editor: a starting layout and the field list. */
import type { Align, Layout } from './api';

/** Built-in fields, and custom fields as `f:<key>` (import columns beyond email/number/name). */
export type FieldKey = 'name' | 'number' | 'date' | 'qr' | `f:${string}`;
export const FIELD_KEYS: FieldKey[] = ['name', 'number', 'date', 'qr'];
export const isCustom = (k: FieldKey): k is `f:${string}` => k.startsWith('f:');

/** Mirrors the server's defaultLayout, for a campaign whose layout was never saved. */
export function defaultLayout(width: number, height: number): Layout {
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  const margin = Math.round(w * 0.08);
  const small = Math.max(10, Math.round(w / 40));
  return {
    name: { x: Math.round(w / 2), y: Math.round(h * 0.45), size: Math.max(12, Math.round(w / 14)), color: '#000000', align: 'center', maxWidth: w - 2 * margin, font: 'default' },
    number: { x: margin, y: Math.round(h * 0.9), size: small, color: '#333333', align: 'left', font: 'default' },
    date: { x: Math.round(w * 0.6), y: Math.round(h * 0.9), size: small, color: '#333333', align: 'left', font: 'default' },
    qr: { x: -1, y: -1, size: Math.max(64, Math.round(Math.min(w, h) * 0.15)) },
  };
}

export const isPlaced = (f: { x: number; y: number }) => f.x >= 0 && f.y >= 0;

export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Sample names the preview offers: short, long Chinese, long Latin. */
export const SAMPLES = {
  sampleShort: '李明',
  sampleZh: '欧阳司马慕容诸葛上官长孙令狐皇甫雪晴',
  sampleEn: 'Maximilian Alexander Fitzgerald-Worthington III',
} as const;

/**
 * The width a text field may take, as the server computes it (render.ts widthLimit): its max
 * width, but never past the template's edge minus a 2 % margin. The marker mirrors it so the
 * name shrinks on the stage as it will on the certificate.
 */
export function widthLimit(templateWidth: number, x: number, align: Align, maxWidth?: number | null): number {
  const margin = Math.round(templateWidth * 0.02);
  const room = align === 'left' ? templateWidth - margin - x : align === 'right' ? x - margin : 2 * Math.min(x - margin, templateWidth - margin - x);
  const wanted = maxWidth != null && Number.isFinite(Number(maxWidth)) && Number(maxWidth) > 0 ? Number(maxWidth) : Infinity;
  return Math.max(0, Math.min(room, wanted));
}
