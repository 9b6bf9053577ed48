/**
 * Certificates are re-rendered on demand from stored inputs (template, layout, name, number,
 * issue time): no image is kept. This file joins a campaign's stored settings into render's input.
 */
import { skia } from './render/canvas.js';
import { createHash } from 'node:crypto';
import { defaultLayout, renderCertificate, renderPreview, type Layout, type PdfAttachment, type TextField } from './render/index.js';
import { DEFAULT_DATE_FORMAT, formatDate } from './render/date-format.js';
import type { CampaignRow, CampaignsRepo } from './campaigns-repo.js';
import { parseCustomFields } from './import-columns.js';
import { certMetrics } from './metrics.js';

/** A stored layout is partial (fields the organizer set); this fills the rest from the default. */
export type StoredLayout = { [K in keyof Layout]?: Partial<Layout[K]> } & {
  /** Custom fields (import columns beyond email/number/name), by key. */
  fields?: Record<string, Partial<TextField>>;
};

/** The layout in effect, with the custom fields (a field not yet placed has x = y = -1). */
export type FullLayout = Layout & { fields: Record<string, TextField> };

export function parseStoredLayout(json: string | null): StoredLayout {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

/** The layout in effect: stored fields over the default for the template's size. */
export function effectiveLayout(
  stored: StoredLayout,
  width: number,
  height: number,
  dateFormat?: string,
  customKeys: readonly string[] = [],
): FullLayout {
  const d = defaultLayout(width, height);
  const fields: Record<string, TextField> = {};
  // A custom field starts like the number (size, colour, font) but unplaced until the organizer puts it somewhere.
  for (const k of new Set([...customKeys, ...Object.keys(stored.fields ?? {})]))
    fields[k] = { ...d.number, x: -1, y: -1, ...stored.fields?.[k] };
  const out: FullLayout = {
    name: { ...d.name, ...stored.name },
    number: { ...d.number, ...stored.number },
    date: { ...d.date, ...stored.date },
    qr: { ...d.qr, ...stored.qr },
    fields,
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
  if (edits.fields) {
    const f: Record<string, Partial<TextField>> = { ...stored.fields };
    for (const [k, v] of Object.entries(edits.fields)) f[k] = { ...stored.fields?.[k], ...v };
    out.fields = f;
  }
  return out;
}

interface TemplateBytes {
  key: string;
  bytes: Buffer;
  width: number;
  height: number;
}

/** The blank template's size: the layout of a campaign without a template needs no drawing. */
const BLANK_SIZE = { width: 1200, height: 850 } as const;
let blank: TemplateBytes | undefined;
/** A plain white template used until the organizer uploads one (so the flow works from the start). */
function blankTemplate(): TemplateBytes {
  if (!blank) {
    const c = skia().createCanvas(BLANK_SIZE.width, BLANK_SIZE.height);
    const g = c.getContext('2d');
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, 1200, 850);
    g.strokeStyle = '#b08d57';
    g.lineWidth = 12;
    g.strokeRect(30, 30, 1140, 790);
    const bytes = c.toBuffer('image/png');
    blank = { key: createHash('sha256').update(bytes).digest('hex'), bytes, ...BLANK_SIZE };
  }
  return blank;
}

/** A4's long side (297 mm) at 300 dpi. */
export const PRINT_LONG_SIDE_PX = 3508;
/** The print resolution. */
export const PRINT_DPI = 300;

export interface RenderRequest {
  campaign: CampaignRow;
  name: string;
  number: string | null;
  issuedAt: number;
  verifyUrl?: string;
  /** Unsaved layout edits (preview). */
  layoutEdits?: StoredLayout;
  format?: 'png' | 'pdf';
  /** Custom field values (drawn where the layout places them). */
  fields?: Record<string, string>;
  /** Files embedded in a PDF (the signed credential). */
  attachments?: PdfAttachment[];
}

/**
 * The size of the claim page's preview (issue 15: "scaled down, under 5 ms of server CPU"): at
 * most the pixels of an A4 portrait page 400 px wide (400x566; a landscape page gets 566x400),
 * and never wider than 800 px (a banner-shaped template). Skia's JPEG encoder is most of a
 * preview's CPU and grows with the pixel count: for an A4 template at 300 dpi, measured with
 * `npm run bench -- preview` on the shared 2-core machine at load 11-15, a cache miss cost
 * 14-17 ms at 800x1132, 5-7 ms at 480x679 and 4.3-4.7 ms at 400x566. The page shows the picture
 * 294 CSS px wide on a 360 px phone and at most at its own pixel width on a wider screen (claim.css),
 * so a phone at devicePixelRatio 2 enlarges it ~1.5x and a desktop not at all. Its job is to show
 * the name as it will be printed; the certificate itself is full size.
 */
export const CLAIM_PREVIEW = { maxWidth: 800, maxPixels: 400 * 566 } as const;
/** Bytes of rendered previews kept in memory per process (JPEGs of ~30-150 KB). */
const PREVIEW_CACHE_BYTES = 32 * 1024 * 1024;
/** A cached preview is dropped after this long (an uploaded font replaced under the same name shows by then). */
const PREVIEW_TTL_MS = 10 * 60_000;

type PreviewOut = Awaited<ReturnType<typeof renderPreview>>;

/** Builds the renderer for a campaign repository, with a small cache of template bytes. */
export function createRenderer(deps: { campaigns: CampaignsRepo; timeZone: string; now?: () => number }) {
  const cache = new Map<string, TemplateBytes>();
  const clock = deps.now ?? Date.now;
  /**
   * Previews by everything that is drawn (template, layout in effect, texts, the date as printed,
   * QR address, size): a volunteer (or a script) asking for the same picture again, or 8 clients
   * asking at once, costs one render. Concurrent asks share the pending render.
   */
  const previews = new Map<string, { p: Promise<PreviewOut>; at: number; bytes: number }>();
  let previewBytes = 0;
  const stats = { previewsRendered: 0, previewHits: 0 };
  function rememberPreview(key: string, p: Promise<PreviewOut>) {
    const entry = { p, at: clock(), bytes: 0 };
    previews.set(key, entry);
    p.then(
      (out) => {
        if (previews.get(key) !== entry) return;
        entry.bytes = out.bytes.length;
        previewBytes += entry.bytes;
        for (const [k, e] of previews) {
          if (previewBytes <= PREVIEW_CACHE_BYTES) break;
          previews.delete(k);
          previewBytes -= e.bytes;
        }
      },
      () => {
        if (previews.get(key) === entry) previews.delete(key);
      },
    );
  }
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
  /** Template, layout in effect (saved + unsaved edits) and the custom texts to draw. */
  async function prepared(r: RenderRequest) {
    const t = await template(r.campaign);
    let stored = parseStoredLayout(r.campaign.layout);
    if (r.layoutEdits) stored = mergeLayout(stored, r.layoutEdits);
    const layout = effectiveLayout(stored, t.width, t.height, r.campaign.date_format);
    const texts = Object.entries(layout.fields)
      .filter(([k]) => r.fields?.[k])
      .map(([k, field]) => ({ field, text: r.fields![k] }));
    return { t, layout, texts };
  }
  return {
    template,
    async layoutOf(c: CampaignRow): Promise<FullLayout> {
      // Listing campaigns must not draw the blank template: that would load Skia (~30 MB resident)
      // on the console's first page (issue 15, idle memory).
      const t = c.template_sha ? await template(c) : BLANK_SIZE;
      return effectiveLayout(
        parseStoredLayout(c.layout),
        t.width,
        t.height,
        c.date_format,
        parseCustomFields(c.custom_fields).map((f) => f.key),
      );
    },
    /**
     * A scaled-down JPEG of the certificate (the claim page's preview, the credential page's
     * picture and share card), from the cache when the same picture was made recently.
     */
    async preview(r: RenderRequest, size: { maxWidth: number; maxPixels?: number } = { maxWidth: 1200 }): Promise<PreviewOut> {
      const { maxWidth, maxPixels } = size;
      const { t, layout, texts } = await prepared(r);
      const date = formatDate(r.issuedAt, deps.timeZone, layout.date.format || DEFAULT_DATE_FORMAT);
      const key = createHash('sha256')
        .update(JSON.stringify([t.key, layout, texts, r.name, r.number, date, r.verifyUrl ?? null, maxWidth, maxPixels ?? null]))
        .digest('base64url');
      const hit = previews.get(key);
      if (hit && clock() - hit.at < PREVIEW_TTL_MS) {
        previews.delete(key);
        previews.set(key, hit); // most recently used last
        stats.previewHits++;
        certMetrics.previewCacheHits.inc();
        return hit.p;
      }
      if (hit) {
        previews.delete(key);
        previewBytes -= hit.bytes;
      }
      stats.previewsRendered++;
      certMetrics.previewsRendered.inc();
      const p = renderPreview(
        {
          template: t.bytes,
          templateKey: t.key,
          layout,
          texts,
          name: r.name,
          number: r.number,
          issuedAt: r.issuedAt,
          timeZone: deps.timeZone,
          verifyUrl: r.verifyUrl,
        },
        { maxWidth, maxPixels, format: 'jpeg' },
      );
      rememberPreview(key, p);
      return p;
    },
    /** How many previews were rendered and how many came from the cache (tests, metrics). */
    previewStats: () => ({ ...stats, cached: previews.size, cachedBytes: previewBytes }),
    /**
     * The certificate for print: its long side PRINT_LONG_SIDE_PX pixels (A4's long side at 300 dpi),
     * the template scaled to it and the texts and QR drawn at that resolution; a high-quality JPEG.
     */
    async print(r: RenderRequest) {
      const { t, layout, texts } = await prepared(r);
      const width = Math.round((t.width * PRINT_LONG_SIDE_PX) / Math.max(t.width, t.height));
      return renderPreview(
        {
          template: t.bytes,
          templateKey: t.key,
          layout,
          texts,
          name: r.name,
          number: r.number,
          issuedAt: r.issuedAt,
          timeZone: deps.timeZone,
          verifyUrl: r.verifyUrl,
        },
        { width, format: 'jpeg', quality: 92 },
      );
    },
    /** Renders the certificate (PNG by default, or the campaign's output format). */
    async render(r: RenderRequest): Promise<{ bytes: Buffer; format: 'png' | 'pdf' }> {
      const { t, layout, texts } = await prepared(r);
      const format = r.format ?? (r.campaign.output === 'pdf' ? 'pdf' : 'png');
      const bytes = await renderCertificate({
        template: t.bytes,
        templateKey: t.key,
        layout,
        texts,
        attachments: r.attachments,
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
