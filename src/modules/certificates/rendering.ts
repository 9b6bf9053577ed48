/**
 * Certificates are re-rendered on demand from stored inputs (template, layout, name, number,
 * issue time): no image is kept. This file joins a campaign's stored settings into render's input.
 */
import { createCanvas } from '@napi-rs/canvas';
import { createHash } from 'node:crypto';
import { defaultLayout, renderCertificate, type Layout } from './render/types.js';
import type { CampaignRow, CampaignsRepo } from './campaigns-repo.js';

/** A stored layout is partial (fields the organizer set); this fills the rest from the default. */
export type StoredLayout = { [K in keyof Layout]?: Partial<Layout[K]> };

export function parseStoredLayout(json: string | null): StoredLayout {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' ? (v as StoredLayout) : {};
  } catch {
    return {};
  }
}

/** The layout in effect: stored fields over the default for the template's size. */
export function effectiveLayout(stored: StoredLayout, width: number, height: number, dateFormat?: string): Layout {
  const d = defaultLayout(width, height);
  const out: Layout = {
    name: { ...d.name, ...stored.name },
    number: { ...d.number, ...stored.number },
    date: { ...d.date, ...stored.date },
    qr: { ...d.qr, ...stored.qr },
  };
  if (dateFormat && !stored.date?.format) out.date.format = dateFormat;
  return out;
}

/** Merges edits into a stored layout (field by field). */
export function mergeLayout(stored: StoredLayout, edits: StoredLayout): StoredLayout {
  const out: StoredLayout = { ...stored };
  for (const k of ['name', 'number', 'date', 'qr'] as const) {
    if (edits[k]) (out as Record<string, unknown>)[k] = { ...stored[k], ...edits[k] };
  }
  return out;
}

interface TemplateBytes {
  key: string;
  bytes: Buffer;
  width: number;
  height: number;
}

let blank: TemplateBytes | undefined;
/** A plain white template used until the organizer uploads one (so the flow works from the start). */
function blankTemplate(): TemplateBytes {
  if (!blank) {
    const c = createCanvas(1200, 850);
    const g = c.getContext('2d');
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, 1200, 850);
    g.strokeStyle = '#b08d57';
    g.lineWidth = 12;
    g.strokeRect(30, 30, 1140, 790);
    const bytes = c.toBuffer('image/png');
    blank = { key: createHash('sha256').update(bytes).digest('hex'), bytes, width: 1200, height: 850 };
  }
  return blank;
}

export interface RenderRequest {
  campaign: CampaignRow;
  name: string;
  number: string | null;
  issuedAt: number;
  verifyUrl?: string;
  /** Unsaved layout edits (preview). */
  layoutEdits?: StoredLayout;
  format?: 'png' | 'pdf';
}

/** Builds the renderer for a campaign repository, with a small cache of template bytes. */
export function createRenderer(deps: { campaigns: CampaignsRepo; timeZone: string }) {
  const cache = new Map<string, TemplateBytes>();
  async function template(c: CampaignRow): Promise<TemplateBytes> {
    if (!c.template_sha) return blankTemplate();
    const hit = cache.get(c.template_sha);
    if (hit) return hit;
    const row = await deps.campaigns.getTemplate(c.template_sha);
    if (!row) return blankTemplate();
    const t = { key: row.sha256, bytes: Buffer.from(row.bytes), width: row.width, height: row.height };
    if (cache.size >= 8) cache.delete(cache.keys().next().value as string);
    cache.set(row.sha256, t);
    return t;
  }
  return {
    template,
    async layoutOf(c: CampaignRow): Promise<Layout> {
      const t = await template(c);
      return effectiveLayout(parseStoredLayout(c.layout), t.width, t.height, c.date_format);
    },
    /** Renders the certificate (PNG by default, or the campaign's output format). */
    async render(r: RenderRequest): Promise<{ bytes: Buffer; format: 'png' | 'pdf' }> {
      const t = await template(r.campaign);
      let stored = parseStoredLayout(r.campaign.layout);
      if (r.layoutEdits) stored = mergeLayout(stored, r.layoutEdits);
      const format = r.format ?? (r.campaign.output === 'pdf' ? 'pdf' : 'png');
      const bytes = await renderCertificate({
        template: t.bytes,
        templateKey: t.key,
        layout: effectiveLayout(stored, t.width, t.height, r.campaign.date_format),
        name: r.name,
        number: r.number,
        issuedAt: r.issuedAt,
        timeZone: deps.timeZone,
        verifyUrl: r.verifyUrl,
        format,
      });
      return { bytes, format };
    },
  };
}

export type Renderer = ReturnType<typeof createRenderer>;
