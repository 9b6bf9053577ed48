/** Layout helpers for the template editor: a starting layout and the field list. */
import type { Layout } from './api';

export type FieldKey = 'name' | 'number' | 'date' | 'qr';
export const FIELD_KEYS: FieldKey[] = ['name', 'number', 'date', 'qr'];

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
