import { createHash } from 'node:crypto';
import type { Canvas, Image, SKRSContext2D } from '@napi-rs/canvas';
import { skia } from './canvas.js';
import type { TemplateEntry } from './types.js';
import { ImageRejected } from './errors.js';
import { MAX_IMAGE_PIXELS, probeImage } from './image-probe.js';
import { checkImageIntegrity } from './image-integrity.js';
import { prepareEncoding } from './png-encode.js';

/** A decoded template, kept so that each render only draws on a copy of it. */
/** Keep at most this many decoded templates, and at most this many bytes of pixels. */
const MAX_ENTRIES = 16;
const MAX_COST = 256 * 1024 * 1024;

const cache = new Map<string, Promise<TemplateEntry>>();
const costs = new Map<string, number>();

/**
 * Returns the decoded template for `bytes`, from the LRU cache when `key` (or the sha256 of the
 * bytes when no key is given) was seen recently. The bytes are probed first (type, size limits)
 * so a decompression bomb is never decoded. Concurrent first calls share one decode.
 */
export function loadTemplate(bytes: Buffer, key?: string): Promise<TemplateEntry> {
  const k = key || createHash('sha256').update(bytes).digest('hex');
  const hit = cache.get(k);
  if (hit) {
    cache.delete(k);
    cache.set(k, hit); // most recently used last
    return hit;
  }
  const info = probeImage(bytes); // throws ImageRejected synchronously-before-decode
  const p = decode(k, bytes, info.width, info.height);
  cache.set(k, p);
  p.then(
    (entry) => {
      costs.set(k, entry.cost);
      evict();
    },
    () => {
      if (cache.get(k) === p) cache.delete(k);
    },
  );
  return p;
}

async function decode(key: string, bytes: Buffer, width: number, height: number): Promise<TemplateEntry> {
  let image: Image;
  try {
    image = await skia().loadImage(bytes);
  } catch {
    throw new ImageRejected('corrupt', 'The template image could not be decoded: its data is damaged or incomplete.');
  }
  if (!image.width || !image.height || image.width * image.height > MAX_IMAGE_PIXELS) {
    throw new ImageRejected('corrupt', 'The template image could not be decoded: its data is damaged or incomplete.');
  }
  if (image.width !== width || image.height !== height) {
    // EXIF-rotated or unusual files: trust the decoder's size.
    width = image.width;
    height = image.height;
  }
  const scaledCache = new Map<string, Canvas>();
  // The band canvases renders draw on: one per band height (a template's fields give a few), not
  // one made per band and render. A canvas made per band cost ~0.1 ms of the main thread to make
  // and its pixel memory to free (by a finalizer, at a later turn of the loop), ~2 per certificate
  // (bench/README.md "Claims, a ninth pass"). Exactly the band's height: its pixels are read whole.
  const bands = new Map<number, { canvas: Canvas; ctx: SKRSContext2D }>();
  return {
    key,
    width,
    height,
    cost: width * height * 4,
    paint(ctx, top, rows) {
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalCompositeOperation = 'source-over';
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, width, rows);
      ctx.drawImage(image, 0, top, width, rows, 0, 0, width, rows);
      ctx.restore();
    },
    band(rows) {
      let b = bands.get(rows);
      if (!b) {
        const canvas = skia().createCanvas(width, rows);
        b = { canvas, ctx: canvas.getContext('2d') };
        if (bands.size >= 4) bands.delete(bands.keys().next().value!);
        bands.set(rows, b);
      }
      return b;
    },
    scaled(w, h) {
      const k = `${w}x${h}`;
      let c = scaledCache.get(k);
      if (!c) {
        c = skia().createCanvas(w, h);
        const ctx = c.getContext('2d');
        ctx.fillStyle = '#ffffff';
        ctx.fillRect(0, 0, w, h);
        ctx.imageSmoothingEnabled = true;
        ctx.imageSmoothingQuality = 'high';
        ctx.drawImage(image, 0, 0, width, height, 0, 0, w, h);
        // Previews come in a few sizes (editor, phone): keep the last four.
        if (scaledCache.size >= 4) scaledCache.delete(scaledCache.keys().next().value!);
        scaledCache.set(k, c);
      }
      return c;
    },
  };
}

function evict() {
  let total = 0;
  for (const k of cache.keys()) total += costs.get(k) ?? 0;
  for (const k of cache.keys()) {
    if (cache.size <= MAX_ENTRIES && total <= MAX_COST) break;
    if (cache.size === 1) break;
    total -= costs.get(k) ?? 0;
    cache.delete(k);
    costs.delete(k);
  }
}

/**
 * Checks a template fully: probe by content, integrity (CRCs, complete data), then a real decode (kept in the cache, so the
 * first preview after an upload is fast). Use on upload; throws ImageRejected.
 */
export async function verifyTemplate(bytes: Buffer, key?: string): Promise<{ type: 'png' | 'jpeg'; width: number; height: number }> {
  const info = probeImage(bytes);
  await checkImageIntegrity(bytes);
  const entry = await loadTemplate(bytes, key);
  // Prepare the template's encoding now, in the background, so the first preview is fast.
  prepareEncoding(entry).catch(() => undefined);
  return { type: info.type, width: entry.width, height: entry.height };
}

/**
 * Checks any uploaded image (the issuer logo) as fully as a template, without keeping it in the
 * template cache: probe, integrity, then a real decode. Throws ImageRejected.
 */
export async function verifyImage(bytes: Buffer): Promise<{ type: 'png' | 'jpeg'; width: number; height: number }> {
  const info = probeImage(bytes);
  await checkImageIntegrity(bytes);
  let image: Image;
  try {
    image = await skia().loadImage(bytes);
  } catch {
    throw new ImageRejected('corrupt', 'The image could not be decoded: its data is damaged or incomplete.');
  }
  if (!image.width || !image.height)
    throw new ImageRejected('corrupt', 'The image could not be decoded: its data is damaged or incomplete.');
  return { type: info.type, width: image.width, height: image.height };
}

/** Empties the cache (tests, and after a template is replaced under the same key). */
export function clearTemplateCache(): void {
  cache.clear();
  costs.clear();
}
