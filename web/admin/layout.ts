/** Layout helpers for the template editor: a starting layout and the field list. */
import { defaultLayout as serverDefaultLayout } from '../../src/modules/certificates/render/layout';
import type { Layout } from './api';

/**
 * The renderer's own geometry (render/layout.ts, no server-only imports): whether a field is on
 * the certificate, and the width a text field may take (its max width, never past the template's
 * edge minus a 2 % margin), so the name's marker shrinks on the stage as it will on the certificate.
 */
export { isPlaced, widthLimit } from '../../src/modules/certificates/render/layout';

/** Built-in fields, and custom fields as `f:<key>` (import columns beyond email/number/name). */
export type FieldKey = 'name' | 'number' | 'date' | 'qr' | `f:${string}`;
export const FIELD_KEYS: FieldKey[] = ['name', 'number', 'date', 'qr'];
export const isCustom = (k: FieldKey): k is `f:${string}` => k.startsWith('f:');

/**
 * The server's defaultLayout (one implementation: render/layout.ts has no server-only imports),
 * for a campaign whose layout was never saved. Without the date format: a layout saved from the
 * editor keeps following the campaign's date format setting (rendering.ts), as before.
 */
export function defaultLayout(width: number, height: number): Layout {
  const l = serverDefaultLayout(width, height);
  const { format: _format, ...date } = l.date;
  return { ...l, date };
}

export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Sample names the preview offers: short, long Chinese, long Latin. */
export const SAMPLES = {
  sampleShort: '李明',
  sampleZh: '欧阳司马慕容诸葛上官长孙令狐皇甫雪晴',
  sampleEn: 'Maximilian Alexander Fitzgerald-Worthington III',
} as const;
